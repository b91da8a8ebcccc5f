// TranslationIndex: per-key copies and per-host claimants, each ordered by the winner rule.
#include "sync/translation_index.hpp"

#include <boost/container_hash/hash.hpp>
#include <boost/intrusive/parent_from_member.hpp>

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>

#include <cassert>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace globaldns::sync {
namespace {

// Identities for "the same problem": the origin (file:line) is left out because it moves when
// unrelated lines are edited, except for two copies of one object, which differ only by it.
std::string skip_identity(const Skip& skip) {
  std::string id = skip.entry;
  id += '\x1f';
  id += skip.subject;
  id += '\x1f';
  id += skip.reason;
  return id;
}

std::string conflict_identity(const Conflict& conflict) {
  std::string id = conflict.host;
  id += '\x1f';
  id += conflict.winner;
  id += '\x1f';
  id += conflict.loser;
  if (conflict.host.empty()) {
    id += '\x1f';
    id += conflict.winner_origin;
    id += '\x1f';
    id += conflict.loser_origin;
  }
  return id;
}

// Appends to `added` what `after` has and `before` lacks, by identity.
template <typename T, typename Identity>
void diff_into(const std::vector<T>& before, const std::vector<T>& after, Identity identity,
               std::vector<T>& added, std::vector<T>& removed) {
  std::map<std::string, const T*> b;
  std::map<std::string, const T*> a;
  for (const auto& item : before) b.emplace(identity(item), &item);
  for (const auto& item : after) a.emplace(identity(item), &item);
  for (const auto& [id, item] : a) {
    if (b.count(id) == 0) added.push_back(*item);
  }
  for (const auto& [id, item] : b) {
    if (a.count(id) == 0) removed.push_back(*item);
  }
}

// compare_precedence()'s first fields, side by side: creation time, then namespace and name as
// one text (the zero byte between them keeps its order) cut to 24 bytes and read big-endian, so
// that comparing keys compares those bytes. Two keys tie only when the entries' texts agree
// that far; compare_precedence() of the entries then decides.
struct PrecedenceKey {
  uint32_t no_created;  // 1 sorts after 0: an entry without a creationTimestamp is the newest
  int64_t created;      // 0 without one
  std::array<uint64_t, 3> text;
  uint32_t index;  // not compared: the entry's place in the input

  std::strong_ordering operator<=>(const PrecedenceKey& other) const noexcept {
    if (const auto c = no_created <=> other.no_created; c != 0) return c;
    if (const auto c = created <=> other.created; c != 0) return c;
    return text <=> other.text;
  }
};

PrecedenceKey precedence_key(std::optional<int64_t> created, std::string_view namespace_,
                             std::string_view name, size_t index) {
  PrecedenceKey key{created ? 0U : 1U, created.value_or(0), {}, static_cast<uint32_t>(index)};
  std::array<unsigned char, sizeof key.text> text{};
  const size_t in_ns = std::min(namespace_.size(), text.size());
  std::copy_n(namespace_.begin(), in_ns, text.begin());
  if (in_ns < text.size()) {
    const size_t in_name = std::min(name.size(), text.size() - in_ns - 1);  // after the zero
    std::copy_n(name.begin(), in_name, text.begin() + static_cast<long>(in_ns) + 1);
  }
  for (size_t word = 0; word < key.text.size(); ++word) {
    for (size_t byte = 0; byte < sizeof(uint64_t); ++byte)
      key.text[word] = (key.text[word] << 8) | text[word * sizeof(uint64_t) + byte];
  }
  return key;
}

PrecedenceKey precedence_key(const ServiceEntry& entry, size_t index) {
  return precedence_key(entry.created_unix, entry.namespace_, entry.name, index);
}

PrecedenceKey precedence_key(const PackedEntry& entry, size_t index) {
  return precedence_key(entry.created_unix(), entry.namespace_(), entry.name(), index);
}

}  // namespace

IndexChanges diff_translations(const Translation& before, const Translation& after) {
  IndexChanges changes;
  diff_into(before.skipped, after.skipped, skip_identity, changes.new_skips, changes.gone_skips);
  diff_into(before.conflicts, after.conflicts, conflict_identity, changes.new_conflicts,
            changes.gone_conflicts);
  // Both are sorted by name: merge.
  auto b = before.hosts.begin();
  auto a = after.hosts.begin();
  while (b != before.hosts.end() || a != after.hosts.end()) {
    if (a == after.hosts.end() || (b != before.hosts.end() && b->name < a->name)) {
      changes.hosts.push_back(IndexChanges::Host{b->name, *b, std::nullopt});
      ++b;
    } else if (b == before.hosts.end() || a->name < b->name) {
      changes.hosts.push_back(IndexChanges::Host{a->name, std::nullopt, *a});
      ++a;
    } else {
      if (*a != *b) changes.hosts.push_back(IndexChanges::Host{a->name, *b, *a});
      ++a;
      ++b;
    }
  }
  return changes;
}

bool TranslationIndex::Order::operator()(const Copy& a, const Copy& b) const {
  if (&a == &b) return false;
  if (const auto c = compare_precedence(a.entry(), b.entry()); c != 0) return c < 0;
  // Identical copies: any fixed order gives the same output.
  return std::less<const Copy*>{}(&a, &b);
}

uint32_t TranslationIndex::KeyHash::of(const KeyView& key) noexcept {
  // namespace/name hashed without building the key's text, cut to the kKeyHashBits a copy
  // keeps: keys_ takes its high bits for a place and its low 7 for a tag.
  size_t h = std::hash<std::string_view>{}(key.first);
  boost::hash_combine(h, std::hash<std::string_view>{}(key.second));
  return static_cast<uint32_t>(h ^ (h >> 32)) & ((uint32_t{1} << kKeyHashBits) - 1);
}

uint32_t TranslationIndex::key_hash(std::string_view namespace_, std::string_view name) noexcept {
  return KeyHash::of(KeyView(namespace_, name));
}

TranslationIndex::KeyLookup::KeyLookup(const KeyView& key) noexcept
    : view(key), hash(KeyHash::of(key)) {}

TranslationIndex::Copy::~Copy() {
  if (has_rare_)
    delete held_.rare;
  else
    std::destroy_at(&held_.entry);
}

TranslationIndex::Rare& TranslationIndex::Copy::make_rare() {
  if (has_rare_) return *held_.rare;
  auto rare = std::make_unique<Rare>();
  rare->entry = std::move(held_.entry);
  std::destroy_at(&held_.entry);
  held_.rare = rare.release();
  has_rare_ = true;
  return *held_.rare;
}

void TranslationIndex::Copy::drop_rare() noexcept {
  if (!has_rare_) return;
  Rare* rare = held_.rare;
  std::construct_at(&held_.entry, std::move(rare->entry));
  has_rare_ = false;
  delete rare;
}

const std::vector<Skip>& TranslationIndex::Copy::skipped() const noexcept {
  static const std::vector<Skip> none;
  const Rare* r = rare();
  return r != nullptr ? r->skips : none;
}

template <typename SomeCopy, typename F>
void TranslationIndex::for_each_claim(SomeCopy& copy, F&& fn) {
  if (!copy.has_claim) return;
  fn(copy.claim);
  if (auto* rare = copy.rare())
    for (auto& more : rare->more_claims) fn(more);
}

void TranslationIndex::Claim::set(Copy& copy, const resolver::HostRecords& records,
                                  uint32_t name_hash, std::vector<resolver::Ipv4>& quads) {
  uint32_t more = 0;
  if (this != &copy.claim) {
    static_cast<RareClaim*>(this)->owner = &copy;
    more = kMore;
  }
  name_hash_ = name_hash;
  const PackedEntry& entry = copy.entry();
  if (records.v6.empty() && entry.addresses_as_quads(quads) && quads == records.v4) {
    if (const auto index = entry.host_index(records.name); index && *index <= kIndex) {
      ref_ = more | static_cast<uint32_t>(*index);
      return;
    }
  }
  Rare& rare = copy.make_rare();  // moves the entry object (not its bytes): `entry` is done
  ref_ = kOwn | more | static_cast<uint32_t>(rare.own_records.size());
  rare.own_records.emplace_back(records);
}

void TranslationIndex::Claim::clear() noexcept {
  if ((ref_ & kMore) != 0) static_cast<RareClaim*>(this)->owner = nullptr;
  name_hash_ = 0;
  ref_ = 0;
}

const TranslationIndex::Copy& TranslationIndex::Claim::owner() const noexcept {
  if ((ref_ & kMore) != 0) return *static_cast<const RareClaim*>(this)->owner;
  return *boost::intrusive::get_parent_from_member(this, &Copy::claim);
}

const PackedRecords& TranslationIndex::Claim::own_records() const noexcept {
  return owner().rare()->own_records[ref_ & kIndex];
}

std::string_view TranslationIndex::Claim::name() const noexcept {
  return own() ? own_records().name() : owner().entry().host(ref_ & kIndex);
}

size_t TranslationIndex::Claim::address_count() const noexcept {
  return own() ? own_records().address_count() : owner().entry().address_count();
}

void TranslationIndex::Claim::unpack_into(resolver::HostRecords& out) const {
  if (own()) {
    own_records().unpack_into(out);
    return;
  }
  const PackedEntry& entry = owner().entry();
  out.name.assign(entry.host(ref_ & kIndex));
  (void)entry.addresses_as_quads(out.v4);  // true: set() saw them so
  out.v6.clear();
}

resolver::HostRecords TranslationIndex::Claim::unpack() const {
  resolver::HostRecords out;
  unpack_into(out);
  return out;
}

bool TranslationIndex::ShadowOrder::operator()(const Claim* a, const Claim* b) const {
  if (const auto c = a->name() <=> b->name(); c != 0) return c < 0;
  return Order{}(a->owner(), b->owner());
}

TranslationIndex::NameLookup::NameLookup(std::string_view name) noexcept : name(name) {
  const size_t h = std::hash<std::string_view>{}(name);
  hash = static_cast<uint32_t>(h ^ (h >> 32));
}

const TranslationIndex::Claim* TranslationIndex::served_claim(std::string_view name) const {
  return served_claim(NameLookup(name));
}

const TranslationIndex::Claim* TranslationIndex::served_claim(const NameLookup& key) const {
  assert(!lookups_released_);
  const uint32_t found = hosts_.find(key.hash, [&](uint32_t number) {
    const Claim& claim = claim_at(number);
    return claim.name_hash() == key.hash && claim.name() == key.name;
  });
  return found == SlotTable::kNone ? nullptr : &claim_at(found);
}

uint32_t TranslationIndex::number_of(const Claim& claim) const noexcept {
  if (&claim != &claim.owner().claim) return static_cast<const RareClaim&>(claim).number;
  return copies_.slot_of(claim.owner());
}

const TranslationIndex::Claim& TranslationIndex::claim_at(uint32_t number) const noexcept {
  if ((number & kRareClaim) != 0) return *rare_claims_[number & ~kRareClaim];
  return copies_.at_slot(number).claim;
}

TranslationIndex::Claim& TranslationIndex::claim_at(uint32_t number) noexcept {
  return const_cast<Claim&>(std::as_const(*this).claim_at(number));
}

void TranslationIndex::number_rare_claim(RareClaim& claim) {
  uint32_t place;
  if (!free_rare_numbers_.empty()) {
    place = free_rare_numbers_.back();
    free_rare_numbers_.pop_back();
    rare_claims_[place] = &claim;
  } else {
    if (rare_claims_.size() >= kRareClaim) throw std::length_error("too many hosts in entries");
    place = static_cast<uint32_t>(rare_claims_.size());
    rare_claims_.push_back(&claim);
  }
  claim.number = kRareClaim | place;
}

void TranslationIndex::drop_rare_claim_number(RareClaim& claim) noexcept {
  const uint32_t place = claim.number & ~kRareClaim;
  rare_claims_[place] = nullptr;
  if (place + 1 == rare_claims_.size()) {
    rare_claims_.pop_back();
  } else {
    free_rare_numbers_.push_back(place);
  }
  if (rare_claims_.empty()) free_rare_numbers_.clear();
}

void TranslationIndex::serve(Claim& claim, Claim* served) {
  if (served == nullptr) {
    hosts_.insert(number_of(claim), claim.name_hash(), name_hash_of());
  } else {
    hosts_.replace(number_of(*served), number_of(claim), claim.name_hash());
    served->set_served(false);
  }
  claim.set_served(true);
}

template <typename F>
void TranslationIndex::for_each_copy_of(const KeyLookup& key, F&& fn) const {
  assert(!lookups_released_);
  keys_.find(key.hash, [&](uint32_t slot) {
    const Copy& copy = copies_.at_slot(slot);
    if (is_of(copy, key)) fn(const_cast<Copy&>(copy));
    return false;
  });
}

TranslationIndex::TranslationIndex(TranslateOptions options) : translator_(std::move(options)) {}
TranslationIndex::~TranslationIndex() = default;

PackedEntry TranslationIndex::keep(PackedEntry entry) {
  const size_t size = entry.size_bytes();
  if (size == 0) return entry;
  if (size <= EntryArena::kLargest)
    return PackedEntry::copy_into(entry, size, arena_.allocate(size));
  return entry.borrowed() ? entry.clone() : std::move(entry);
}

void TranslationIndex::drop(Copy& copy) noexcept {
  const PackedEntry& entry = copy.entry();
  if (entry.borrowed()) arena_.release(const_cast<char*>(entry.data()), entry.size_bytes());
  copies_.erase(copies_.slot_of(copy));
  if (copies_.empty()) arena_.clear();  // every block released
}

TranslationIndex::Copy& TranslationIndex::make_copy(PackedEntry entry, Tag tag) {
  auto [copy, slot] = copies_.make();
  // A copy's slot is its claim's number in hosts_, below the rare claims' (2^31 copies would
  // take 60 GB).
  if (slot >= kRareClaim) {
    copies_.erase(slot);
    throw std::length_error("too many entries");
  }
  copy.tag = tag;
  copy.entry() = keep(std::move(entry));
  copy.key_hash = KeyHash::of(key_of(copy));
  link_tagged(copy);
  return copy;
}

void TranslationIndex::link_tagged(Copy& copy) {
  ++tag_counts_[copy.tag];
}

void TranslationIndex::unlink_tagged(Copy& copy) {
  const auto counted = tag_counts_.find(copy.tag);
  if (counted != tag_counts_.end() && --counted->second == 0) tag_counts_.erase(counted);
}

namespace {
// An entry as the index keeps it: packed once, or handed over packed.
PackedEntry packed(const ServiceEntry& entry) {
  return PackedEntry(entry);
}
PackedEntry packed(PackedEntry& entry) {
  return std::move(entry);
}
}  // namespace

EntryTranslation TranslationIndex::translate(const ServiceEntry& entry, const Copy& /*copy*/) {
  return translator_.translate(entry);
}

EntryTranslation TranslationIndex::translate(const PackedEntry& /*moved_from*/, const Copy& copy) {
  return translate_packed(copy.entry());
}

EntryTranslation TranslationIndex::translate_packed(const PackedEntry& entry) {
  entry.unpack_into(unpacked_);
  return translator_.translate(unpacked_);
}

std::vector<TranslationIndex::Handle> TranslationIndex::insert_all(
    std::vector<ServiceEntry> entries, Tag tag) {
  std::vector<Handle> handles;
  insert_all_of(entries, tag, &handles);
  return handles;
}

std::vector<TranslationIndex::Handle> TranslationIndex::insert_all(std::vector<PackedEntry> entries,
                                                                   Tag tag) {
  std::vector<Handle> handles;
  insert_all_of(entries, tag, &handles);
  return handles;
}

void TranslationIndex::load_all(std::vector<ServiceEntry> entries, Tag tag) {
  insert_all_of(entries, tag, nullptr);
}

void TranslationIndex::load_all(std::vector<PackedEntry> entries, Tag tag) {
  insert_all_of(entries, tag, nullptr);
}

template <typename Entry>
void TranslationIndex::insert_all_of(std::vector<Entry>& entries, Tag tag,
                                     std::vector<Handle>* handles) {
  assert(!lookups_released_);
  if (!copies_.empty() || !touched_keys_.empty() || !touched_hosts_.empty()) {
    if (handles != nullptr) handles->reserve(entries.size());
    for (Entry& entry : entries) {
      const Handle handle = insert(std::move(entry), tag);
      if (handles != nullptr) handles->push_back(handle);
    }
    return;
  }
  // Sorted before they become copies, by keys that hold the winner rule's first fields:
  // comparing two entries in place costs a cache miss each, and at 1M these comparisons were a
  // tenth of a first load. Equal entries keep their input order, as the handles they would get
  // break Order's ties.
  const size_t n = entries.size();
  if (n > std::numeric_limits<uint32_t>::max()) throw std::length_error("too many entries");
  // Ranks and places as 32 bits: at 1M each of these arrays is held beside the whole load.
  std::vector<uint32_t> sorted(n);
  {
    std::vector<PrecedenceKey> keys;
    keys.reserve(n);
    for (size_t i = 0; i < n; ++i) keys.push_back(precedence_key(entries[i], i));
    std::sort(keys.begin(), keys.end(), [&entries](const PrecedenceKey& a, const PrecedenceKey& b) {
      if (const auto c = a <=> b; c != 0) return c < 0;
      const auto c = compare_precedence(entries[a.index], entries[b.index]);
      return c != 0 ? c < 0 : a.index < b.index;
    });
    for (size_t rank = 0; rank < n; ++rank) sorted[rank] = keys[rank].index;
  }
  // The entries are consumed in that order from the back of `entries`, which shrinks as it
  // goes: a first list of 1M holds about 180 MB in the vector itself, which would otherwise
  // stay until the whole index is built next to it. So put them in reverse order, in place.
  {
    std::vector<uint32_t> to(n);
    for (size_t rank = 0; rank < n; ++rank) to[sorted[rank]] = static_cast<uint32_t>(n - 1 - rank);
    for (size_t i = 0; i < n; ++i) {
      while (to[i] != i) {
        std::swap(entries[i], entries[to[i]]);
        std::swap(to[i], to[to[i]]);
      }
    }
  }
  if (handles != nullptr) {
    handles->resize(n);
  } else {
    std::vector<uint32_t>().swap(sorted);  // only handles are placed by it
  }
  copies_.reserve(n);
  reserve_keys(n);
  reserve_hosts(n);           // one host an entry is the usual
  loaded_from_empty_ = true;  // activate() skips the before-views from here on
  for (size_t rank = 0; rank < n; ++rank) {
    if constexpr (std::is_same_v<Entry, PackedEntry>) {
      if (entries.size() > kPrefetchAhead) prefetch(entries[entries.size() - 1 - kPrefetchAhead]);
    }
    Entry& entry = entries.back();
    Copy& copy = make_copy(packed(entry), tag);
    if (handles != nullptr) (*handles)[sorted[rank]] = handle_of(copy);
    // Sorted: an earlier copy of the key, activated when it came, wins.
    const bool first = served_of(lookup_of(copy)) == nullptr;
    link_key(copy);
    if (first) {
      activate(copy, translate(entry, copy));
    } else {
      ++conflicts_;  // a later duplicate copy, dropped whole
    }
    entries.pop_back();
    if (entries.size() >= 4096 && entries.size() <= entries.capacity() / 2) {
      entries.shrink_to_fit();
    }
  }
}

bool TranslationIndex::begin_load(size_t expected) {
  if (!copies_.empty() || !touched_keys_.empty() || !touched_hosts_.empty()) return false;
  copies_.reserve(expected);
  reserve_keys(expected);
  reserve_hosts(expected);  // one host an entry is the usual
  loaded_from_empty_ = true;
  return true;
}

std::vector<PackedEntry> TranslationIndex::take_entries(std::unique_ptr<TranslationIndex> index) {
  std::vector<PackedEntry> entries;
  if (!index) return entries;
  entries.reserve(index->copies_.size());
  // Destroying the index reads no entry: they can go first. A block in the index's arena dies with
  // it, so it is copied.
  index->copies_.for_each([&entries](Copy& copy) {
    PackedEntry& entry = copy.entry();
    entries.push_back(entry.borrowed() ? entry.clone() : std::move(entry));
  });
  index.reset();
  return entries;
}

void TranslationIndex::prefetch(const PackedEntry& entry) const {
  keys_.prefetch(KeyHash::of(KeyView(entry.namespace_(), entry.name())));
  // A host as written is the usual claim's name (already lower case, no trailing dot); when it
  // is not, this fetches a line for nothing.
  entry.for_each_host([this](std::string_view host) { hosts_.prefetch(NameLookup(host).hash); });
}

TranslationIndex::Handle TranslationIndex::insert(const ServiceEntry& entry, Tag tag) {
  Copy& copy = make_copy(PackedEntry(entry), tag);
  return link_new(copy, [&] { return translator_.translate(entry); });
}

TranslationIndex::Handle TranslationIndex::insert(PackedEntry entry, Tag tag) {
  Copy& copy = make_copy(std::move(entry), tag);
  // Unpacked only if it is served: a later duplicate copy never is.
  return link_new(copy, [&] { return translate_packed(copy.entry()); });
}

template <typename Translate>
TranslationIndex::Handle TranslationIndex::link_new(Copy& copy, Translate translate) {
  touch_key(key_of(copy));
  Copy* const previous = const_cast<Copy*>(served_of(lookup_of(copy)));
  link_key(copy);
  if (previous != nullptr) ++conflicts_;  // one more duplicate copy
  if (previous == nullptr || Order{}(copy, *previous)) {
    if (previous != nullptr) deactivate(*previous);
    activate(copy, translate());
  }
  return handle_of(copy);
}

void TranslationIndex::erase(Handle handle) {
  assert(!lookups_released_);
  Copy* const found = copies_.find(handle);
  assert(found != nullptr);
  if (found == nullptr) return;
  Copy& copy = *found;

  touch_key(key_of(copy));
  keys_.erase(copies_.slot_of(copy), copy.key_hash, key_hash_of());
  unlink_tagged(copy);
  // By the erased copy's hash and text, still held: it is unlinked, not yet destroyed.
  Copy* next = nullptr;
  for_each_copy_of(lookup_of(copy), [&next](Copy& other) {
    if (next == nullptr || Order{}(other, *next)) next = &other;
  });
  if (next != nullptr) --conflicts_;  // one duplicate fewer
  if (copy.active) {
    deactivate(copy);
    if (next != nullptr) activate(*next, translate_packed(next->entry()));
  }
  drop(copy);
}

const PackedEntry& TranslationIndex::entry(Handle handle) const {
  const Copy* copy = copies_.find(handle);
  if (copy == nullptr) throw std::out_of_range("TranslationIndex::entry: no such handle");
  return copy->entry();
}

TranslationIndex::Handles TranslationIndex::copies_of(std::string_view namespace_,
                                                      std::string_view name, Tag tag) const {
  Handles out;
  for_each_copy_of(KeyLookup(KeyView(namespace_, name)), [&](const Copy& copy) {
    if (copy.tag == tag) out.push_back(handle_of(copy));
  });
  return out;
}

std::vector<TranslationIndex::Handle> TranslationIndex::copies_tagged(Tag tag) const {
  std::vector<Handle> out;
  const size_t count = count_tagged(tag);
  if (count == 0) return out;
  out.reserve(count);
  // In slot order, which is memory order: a walk over 1M copies of 28 bytes with their slots'
  // generations reads about 28 MB in sequence.
  copies_.for_each([&](const Copy& copy) {
    if (copy.tag == tag) out.push_back(handle_of(copy));
  });
  std::sort(out.begin(), out.end());
  return out;
}

size_t TranslationIndex::count_tagged(Tag tag) const {
  const auto counted = tag_counts_.find(tag);
  return counted == tag_counts_.end() ? 0 : counted->second;
}

void TranslationIndex::for_each_copy(const std::function<void(Tag, const PackedEntry&)>& fn) const {
  copies_.for_each([&](const Copy& copy) { fn(copy.tag, copy.entry()); });
}

void TranslationIndex::activate(Copy& copy, EntryTranslation translation) {
  copy.active = true;
  const size_t claims = translation.claims.size();
  if (!translation.skipped.empty() || claims > 1) {
    Rare& rare = copy.make_rare();
    rare.skips = std::move(translation.skipped);
    // Linked claims must not move: room for all of them first.
    if (claims > 1) rare.more_claims.reserve(claims - 1);
  }
  for (const Skip& skip : copy.skipped()) ++skipped_by_reason_[static_cast<size_t>(skip.code)];
  for (const resolver::HostRecords& records : translation.claims) {
    touch_host(records.name);
    Claim* claim = &copy.claim;
    if (copy.has_claim) {
      RareClaim& more = copy.rare()->more_claims.emplace_back();
      number_rare_claim(more);
      claim = &more;
    }
    copy.has_claim = true;
    const NameLookup lookup(records.name);
    claim->set(copy, records, lookup.hash, quads_);
    Claim* const served = const_cast<Claim*>(served_claim(lookup));
    if (served == nullptr) {
      serve(*claim, nullptr);
      ++names_;
      addresses_ += claim->address_count();
      continue;
    }
    ++conflicts_;  // one of the two loses
    if (Order{}(copy, served->owner())) {
      // Served now, in the place of the one before.
      addresses_ -= served->address_count();
      addresses_ += claim->address_count();
      serve(*claim, served);
      shadowed_.insert(served);
    } else {
      shadowed_.insert(claim);
    }
  }
}

void TranslationIndex::deactivate(Copy& copy) {
  for_each_claim(copy, [this](Claim& claim) {
    const std::string_view name = claim.name();
    touch_host(std::string(name));
    if (!claim.served()) {
      // A claim that lost its host: the one served stays.
      const auto [first, last] = shadowed_.equal_range(name);
      const auto it = std::find(first, last, &claim);
      assert(it != last);
      shadowed_.erase(it);
      --conflicts_;
      return;
    }
    addresses_ -= claim.address_count();
    const auto heir = shadowed_.lower_bound(name);
    if (heir != shadowed_.end() && (*heir)->name() == name) {
      --conflicts_;  // the next claimant takes over
      addresses_ += (*heir)->address_count();
      serve(**heir, &claim);
      shadowed_.erase(heir);
    } else {
      hosts_.erase(number_of(claim), claim.name_hash(), name_hash_of());
      claim.set_served(false);
      --names_;
    }
  });
  if (Rare* rare = copy.rare()) {
    for (RareClaim& more : rare->more_claims) drop_rare_claim_number(more);
  }
  for (const Skip& skip : copy.skipped()) --skipped_by_reason_[static_cast<size_t>(skip.code)];
  copy.drop_rare();
  copy.claim.clear();
  copy.has_claim = false;
  copy.active = false;
}

void TranslationIndex::release_lookups() noexcept {
  keys_.release();
  hosts_.release();
  lookups_released_ = true;
}

void TranslationIndex::rebuild_lookups() {
  if (!lookups_released_) return;
  lookups_released_ = false;
  reserve_keys(copies_.size());
  reserve_hosts(names_);
  copies_.for_each([this](Copy& copy) {
    link_key(copy);
    for_each_claim(copy, [this](Claim& claim) {
      if (claim.served()) serve(claim, nullptr);
    });
  });
}

void TranslationIndex::reserve_keys(size_t keys) {
  keys_.reserve(keys, key_hash_of());
}

void TranslationIndex::reserve_hosts(size_t hosts) {
  hosts_.reserve(hosts, name_hash_of());
}

void TranslationIndex::link_key(Copy& copy) {
  assert(!lookups_released_);
  keys_.insert(copies_.slot_of(copy), copy.key_hash, key_hash_of());
}

const TranslationIndex::Copy* TranslationIndex::served_of(const KeyView& key) const {
  return served_of(KeyLookup(key));
}

const TranslationIndex::Copy* TranslationIndex::served_of(const KeyLookup& lookup) const {
  assert(!lookups_released_);
  const uint32_t slot = keys_.find(lookup.hash, [&](uint32_t each) {
    const Copy& copy = copies_.at_slot(each);
    return copy.active && is_of(copy, lookup);
  });
  return slot == SlotTable::kNone ? nullptr : &copies_.at_slot(slot);
}

void TranslationIndex::touch_key(const KeyView& key) {
  if (loaded_from_empty_) return;  // take_changes() reports everything anyway
  std::pair<std::string, std::string> text(key.first, key.second);
  if (touched_keys_.count(text) == 0) touched_keys_.emplace(std::move(text), key_view(key));
}

void TranslationIndex::touch_host(const std::string& name) {
  if (loaded_from_empty_) return;
  if (touched_hosts_.count(name) == 0) touched_hosts_.emplace(name, host_view(name));
}

TranslationIndex::KeyBefore TranslationIndex::key_view(const KeyView& key) const {
  KeyBefore view;
  const Copy* served = served_of(key);
  if (served == nullptr) return view;
  view.skips = served->skipped();
  std::vector<const Copy*> dropped;
  for_each_copy_of(KeyLookup(key), [&](const Copy& copy) {
    if (&copy != served) dropped.push_back(&copy);
  });
  if (dropped.empty()) return view;  // the usual: no duplicate
  std::sort(dropped.begin(), dropped.end(), Order{});
  const std::string name = served->entry().key();
  for (const Copy* copy : dropped) {
    view.duplicates.push_back(
        Conflict{"", name, name, served->entry().origin().text(), copy->entry().origin().text()});
  }
  return view;
}

TranslationIndex::HostBefore TranslationIndex::host_view(const std::string& name) const {
  HostBefore view;
  const Claim* served = served_claim(name);
  if (served == nullptr) return view;
  const Copy& winner = served->owner();
  view.records = served->unpack();
  const auto [first, last] = shadowed_.equal_range(std::string_view(name));
  for (auto it = first; it != last; ++it) {
    view.conflicts.push_back(Conflict{name, winner.entry().key(), (*it)->owner().entry().key(),
                                      winner.entry().origin().text(),
                                      (*it)->owner().entry().origin().text()});
  }
  return view;
}

IndexChanges TranslationIndex::take_changes(HostChanges hosts) {
  if (loaded_from_empty_) {
    // Empty before the load: everything held now is new.
    loaded_from_empty_ = false;
    touched_keys_.clear();
    touched_hosts_.clear();
    // diff_translations(Translation{}, translation()), without a second copy of every host's
    // records alongside the first.
    Translation now;
    if (hosts == HostChanges::Listed) {
      now = translation();
    } else {
      problems_into(now);
    }
    IndexChanges changes;
    diff_into({}, now.skipped, skip_identity, changes.new_skips, changes.gone_skips);
    diff_into({}, now.conflicts, conflict_identity, changes.new_conflicts, changes.gone_conflicts);
    changes.hosts.reserve(now.hosts.size());
    for (resolver::HostRecords& records : now.hosts) {
      std::string name = records.name;
      changes.hosts.push_back(
          IndexChanges::Host{std::move(name), std::nullopt, std::move(records)});
    }
    return changes;
  }
  IndexChanges changes;
  for (const auto& [key, before] : touched_keys_) {
    const KeyBefore after = key_view(KeyView(key.first, key.second));
    diff_into(before.skips, after.skips, skip_identity, changes.new_skips, changes.gone_skips);
    diff_into(before.duplicates, after.duplicates, conflict_identity, changes.new_conflicts,
              changes.gone_conflicts);
  }
  for (auto& [name, before] : touched_hosts_) {
    HostBefore after = host_view(name);
    diff_into(before.conflicts, after.conflicts, conflict_identity, changes.new_conflicts,
              changes.gone_conflicts);
    if (hosts == HostChanges::Listed && before.records != after.records) {
      changes.hosts.push_back(
          IndexChanges::Host{name, std::move(before.records), std::move(after.records)});
    }
  }
  touched_keys_.clear();
  touched_hosts_.clear();
  return changes;
}

std::optional<resolver::HostRecords> TranslationIndex::host(std::string_view name) const {
  const Claim* served = served_claim(name);
  if (served == nullptr) return std::nullopt;
  return served->unpack();
}

void TranslationIndex::for_each_host(
    const std::function<void(const resolver::HostRecords&)>& fn) const {
  resolver::HostRecords records;
  // In the order of the copies' slots, which is their order in memory: the hash set's order is
  // random in it, and at 1M its walk took a cache miss per claim.
  copies_.for_each([&](const Copy& copy) {
    for_each_claim(copy, [&](const Claim& claim) {
      if (!claim.served()) return;  // another claim serves the host
      claim.unpack_into(records);
      fn(records);
    });
  });
}

void TranslationIndex::for_each_host_served_by(
    Handle handle, const std::function<void(const resolver::HostRecords&)>& fn) const {
  const Copy* copy = copies_.find(handle);
  if (copy == nullptr) return;
  resolver::HostRecords records;
  for_each_claim(*copy, [&](const Claim& claim) {
    if (!claim.served()) return;
    claim.unpack_into(records);
    fn(records);
  });
}

std::vector<TranslationIndex::Claimant> TranslationIndex::claimants(std::string_view name) const {
  std::vector<Claimant> out;
  const Claim* served = served_claim(name);
  if (served == nullptr) return out;
  out.push_back({&served->owner().entry(), served->unpack()});
  const auto [first, last] = shadowed_.equal_range(name);
  for (auto it = first; it != last; ++it) out.push_back({&(*it)->owner().entry(), (*it)->unpack()});
  return out;
}

std::vector<const TranslationIndex::Copy*> TranslationIndex::in_order(
    const std::function<bool(const Copy&)>& wanted) const {
  std::vector<const Copy*> out;
  copies_.for_each([&](const Copy& copy) {
    if (wanted(copy)) out.push_back(&copy);
  });
  std::sort(out.begin(), out.end(), Order{});
  return out;
}

void TranslationIndex::for_each_entry(const std::function<bool(const PackedEntry&)>& wanted,
                                      const std::function<void(const Held&)>& fn) const {
  for (const Copy* each : in_order([&](const Copy& copy) { return wanted(copy.entry()); })) {
    const Copy& copy = *each;
    if (copy.active) {  // the served copy of its key: no lookup needed
      Held held{&copy.entry(), &copy.skipped(), {}, &copy.entry()};
      for_each_claim(copy, [&held](const Claim& claim) { held.claims.push_back(claim.name()); });
      fn(held);
      continue;
    }
    fn(Held{&copy.entry(), nullptr, {}, &served_of(key_of(copy))->entry()});
  }
}

Translation TranslationIndex::translation() const {
  Translation out;
  out.hosts.reserve(names_);
  for_each_host([&](const resolver::HostRecords& records) { out.hosts.push_back(records); });
  std::sort(out.hosts.begin(), out.hosts.end(),
            [](const resolver::HostRecords& a, const resolver::HostRecords& b) {
              return a.name < b.name;
            });
  problems_into(out);
  return out;
}

void TranslationIndex::problems_into(Translation& out) const {
  // Only the copies with a problem, in order: a duplicate copy, one with skips, or one with a
  // claim that another claim serves.
  const auto has_problem = [this](const Copy& copy) {
    if (!copy.active || !copy.skipped().empty()) return true;
    if (conflicts_ == 0) return false;
    bool shadowed = false;
    for_each_claim(copy,
                   [&shadowed](const Claim& claim) { shadowed = shadowed || !claim.served(); });
    return shadowed;
  };
  for (const Copy* each : in_order(has_problem)) {
    const Copy& copy = *each;
    if (!copy.active) {  // the served copy of a key is its active one
      const Copy* served = served_of(key_of(copy));
      const std::string name = copy.entry().key();
      out.conflicts.push_back(
          Conflict{"", name, name, served->entry().origin().text(), copy.entry().origin().text()});
      continue;
    }
    for (const auto& skip : copy.skipped()) out.skipped.push_back(skip);
    for_each_claim(copy, [&](const Claim& claim) {
      if (claim.served()) return;  // it serves its host
      const std::string_view name = claim.name();
      const Copy* winner = &served_claim(name)->owner();
      out.conflicts.push_back(Conflict{std::string(name), winner->entry().key(), copy.entry().key(),
                                       winner->entry().origin().text(),
                                       copy.entry().origin().text()});
    });
  }
}

}  // namespace globaldns::sync

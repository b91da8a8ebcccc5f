// TranslationIndex: translate() kept up to date one entry at a time, reporting what changed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "resolver/zone_data.hpp"
#include "sync/entry_arena.hpp"
#include "sync/packed_entry.hpp"
#include "sync/packed_records.hpp"
#include "sync/service_entry.hpp"
#include "sync/slot_pool.hpp"
#include "sync/slot_table.hpp"
#include "sync/translate.hpp"

namespace globaldns::sync {

// What one batch of inserts and erases changed, net: a host whose records went A -> B -> A
// within the batch is not in it.
struct IndexChanges {
  struct Host {
    std::string name;
    std::optional<resolver::HostRecords> before;  // nullopt: was not served
    std::optional<resolver::HostRecords> after;   // nullopt: no longer served
  };
  std::vector<Host> hosts;  // sorted by name
  std::vector<Skip> new_skips;
  std::vector<Skip> gone_skips;  // the ones that went away (origin as when last seen)
  std::vector<Conflict> new_conflicts;
  std::vector<Conflict> gone_conflicts;
};

// The changes that turn `before` into `after` (two results of translate(), e.g. before and
// after a settings change), computed in O(n log n).
IndexChanges diff_translations(const Translation& before, const Translation& after);

// Holds copies of entries (the same namespace/name may be held several times, e.g. from two
// sources) and keeps, for their union, exactly what translate() would return: served hosts,
// skips and conflicts, under the same winner rule. insert() and erase() cost
// O(hosts of the entry x log n) (plus the other claimants of those hosts when one changes
// hands); translation() materialises the whole result in translate()'s order in O(n).
// Not thread-safe.
class TranslationIndex {
 public:
  using Handle = uint64_t;
  // A caller's label for a copy: the sync controller tags each copy with the source part it
  // came from, so it finds a part's copies here instead of in a map of its own (40 bytes a copy).
  using Tag = uint32_t;

  explicit TranslationIndex(TranslateOptions options);
  ~TranslationIndex();
  TranslationIndex(const TranslationIndex&) = delete;
  TranslationIndex& operator=(const TranslationIndex&) = delete;

  Handle insert(const ServiceEntry& entry, Tag tag = 0);
  // The same, for an entry packed already (a Kubernetes list arrives so): kept as it is.
  Handle insert(PackedEntry entry, Tag tag = 0);
  // insert() of each, in order of `entries`. Into an empty index (a first list of 100,000)
  // it takes a faster path: entries are sorted once into translate()'s order, so each key's and
  // host's first copy is its winner from the start, and no before-state is kept (there is none).
  std::vector<Handle> insert_all(std::vector<ServiceEntry> entries, Tag tag = 0);
  std::vector<Handle> insert_all(std::vector<PackedEntry> entries, Tag tag = 0);
  // insert_all(), for a caller that finds copies by key or tag later: without the handles (8 MB
  // at 1M, held beside the whole load).
  void load_all(std::vector<ServiceEntry> entries, Tag tag = 0);
  void load_all(std::vector<PackedEntry> entries, Tag tag = 0);
  // Into an empty index, a load that comes in pieces (a Kubernetes list, page by page): until
  // the next take_changes(), inserts keep no before-state, and that call reports the whole
  // translation, as after insert_all(). `expected`: about how many entries come, for room
  // (0: unknown). False, changing nothing, when the index is not empty.
  bool begin_load(size_t expected);
  // Every entry held, moved out in the order inserted (slots reused after an erase aside), and
  // the index destroyed: what was loaded in the background, when it cannot be used as it is.
  static std::vector<PackedEntry> take_entries(std::unique_ptr<TranslationIndex> index);
  // A hint, for a caller about to insert `entry`: the memory its key and its hosts are looked
  // up in is fetched meanwhile (on a load of 1M, each insert waited for cache misses there).
  void prefetch(const PackedEntry& entry) const;
  // How many entries ahead of the one being inserted a load prefetches: enough for the misses
  // to land before their insert, few enough to stay in the cache.
  static constexpr size_t kPrefetchAhead = 4;
  void erase(Handle handle);  // unknown handles are a bug, ignored
  const PackedEntry& entry(Handle handle) const;
  // The 29-bit hash that copies are found by; at 1M keys about a thousand pairs share one, and
  // are told apart by their text. Public so that a test can make such a pair.
  static uint32_t key_hash(std::string_view namespace_, std::string_view name) noexcept;

  // The copies of namespace/name with `tag`, in no particular order: one hash lookup.
  using Handles = boost::container::small_vector<Handle, 2>;
  Handles copies_of(std::string_view namespace_, std::string_view name, Tag tag) const;
  // Every copy with `tag`, by handle: a walk over every copy (a part is replaced or erased whole
  // when this is asked; a list of a tag's copies through them took 8 bytes of each).
  std::vector<Handle> copies_tagged(Tag tag) const;
  size_t count_tagged(Tag tag) const;
  // Every copy, as fn(tag, entry), in no particular order.
  void for_each_copy(const std::function<void(Tag, const PackedEntry&)>& fn) const;

  // Whether take_changes() lists the hosts whose records changed.
  enum class HostChanges : uint8_t {
    Listed,
    // Not needed (a caller that will build from the whole index): after a bulk load from
    // empty, listing them would copy every host's records (~150 MB at 1M entries).
    Omitted,
  };
  // The net changes since the previous call (or construction).
  IndexChanges take_changes(HostChanges hosts = HostChanges::Listed);

  // The records served for `name` (normalised: lower case, no trailing dot); none if none.
  std::optional<resolver::HostRecords> host(std::string_view name) const;
  // Every served host's records, in no particular order. `fn` sees one object refilled for each
  // host: it copies what it keeps.
  void for_each_host(const std::function<void(const resolver::HostRecords&)>& fn) const;

  // The records of each host that the copy `handle` serves now (none for an unknown handle): a
  // load in pieces fills a snapshot builder with them as it goes.
  void for_each_host_served_by(Handle handle,
                               const std::function<void(const resolver::HostRecords&)>& fn) const;

  // translate() of every entry held, in its order.
  Translation translation() const;

  // For a caller about to build a snapshot from every host (for_each_host): the two hash tables
  // that find copies by key and claims by name are freed until rebuild_lookups(), so that they
  // and a new zone builder's tables are not held at once (at 1M, 13 MB of the start's peak).
  // Meanwhile only for_each_host and the counters may be asked. Rebuilding reads only what the
  // copies keep (their slots and hashes): about 50 ms at 1M.
  void release_lookups() noexcept;
  void rebuild_lookups();
  bool lookups_released() const noexcept { return lookups_released_; }

  // For diagnostics (sync/explain): the entries that would serve `name` (normalised), the
  // served one first, each with the records it would serve; empty when none does.
  struct Claimant {
    const PackedEntry* entry;
    resolver::HostRecords records;
  };
  std::vector<Claimant> claimants(std::string_view name) const;
  // Every copy held whose entry `wanted` picks, in translate()'s order (sorted for the call: pick
  // few). `skipped` is null for a copy dropped whole
  // because another copy of its namespace/name (`served_copy`) is served; otherwise it and
  // `claims` are translate()'s for the entry alone (EntryTranslation), the claims by name.
  struct Held {
    const PackedEntry* entry;
    const std::vector<Skip>* skipped;
    boost::container::small_vector<std::string_view, 2> claims;
    const PackedEntry* served_copy;  // == entry when this copy is the served one
  };
  void for_each_entry(const std::function<bool(const PackedEntry&)>& wanted,
                      const std::function<void(const Held&)>& fn) const;

  const TranslateOptions& options() const noexcept { return translator_.options(); }
  size_t entries() const noexcept { return copies_.size(); }
  size_t names() const noexcept { return names_; }
  size_t addresses() const noexcept { return addresses_; }
  size_t skipped() const noexcept {
    return std::accumulate(skipped_by_reason_.begin(), skipped_by_reason_.end(), size_t{0});
  }
  // skipped() by SkipReason, indexed by its value.
  const std::array<size_t, kSkipReasonCount>& skipped_by_reason() const noexcept {
    return skipped_by_reason_;
  }
  size_t conflicts() const noexcept { return conflicts_; }
  // Bytes the index's arena holds for its entries' blocks (a few large entries' aside), for the
  // memory figures: whatever the churn, about what the entries held at once take.
  size_t entry_bytes() const noexcept { return arena_.bytes_held(); }

 private:
  // Each allocation costs its size rounded up plus malloc's 8-16 bytes, and a first list of 1M
  // entries made about 15 per entry. Now a copy lives in a slot of copies_, which keys_
  // holds; its claims are in hosts_ or shadowed_; the entry is one allocation, and a
  // claim's records are read from it (or, for the few that differ, held in the copy's rare).
  struct Copy;
  // A key's hash as a copy keeps it, beside its flags: keys_ takes its place and its tag from
  // these 29 bits.
  static constexpr unsigned kKeyHashBits = 29;
  // A host the copy would serve (EntryTranslation::claims), while the copy is active: in
  // hosts_ while it serves the host (served()), otherwise held in shadowed_.
  class Claim {
   public:
    // Claims the host `records` for `copy`, whose claim this is (its `claim`, or one of its
    // rare's more_claims); `name_hash` is NameLookup's of records.name. Records other than the
    // usual go into the copy's rare, made if need be. `quads`: scratch.
    void set(Copy& copy, const resolver::HostRecords& records, uint32_t name_hash,
             std::vector<resolver::Ipv4>& quads);
    void clear() noexcept;
    // The copy whose claim this is; only while set.
    const Copy& owner() const noexcept;
    std::string_view name() const noexcept;
    size_t address_count() const noexcept;
    void unpack_into(resolver::HostRecords& out) const;
    resolver::HostRecords unpack() const;
    uint32_t name_hash() const noexcept { return name_hash_; }  // NameLookup's, of name()
    // Whether it is the one in hosts_ for its name (a flag, where a hook took 8 bytes).
    bool served() const noexcept { return (ref_ & kServed) != 0; }
    void set_served(bool served) noexcept { ref_ = served ? ref_ | kServed : ref_ & ~kServed; }

   private:
    // The usual claim's records are the owner's host as written with all its addresses, each
    // a plain IPv4 quad: they are read back from its packed entry, which held them already (a
    // packed copy here took 40 bytes of every copy), and the low bits of ref_ are the host's
    // index. Any other claim (a host written in upper case, addresses filtered, IPv6 ones, ...)
    // has its own, in its owner's rare (a pointer here took 8 bytes of every copy): kOwn, and
    // the low bits are their index in rare->own_records.
    static constexpr uint32_t kOwn = uint32_t{1} << 31;
    // A claim is its copy's `claim`, whose owner is the copy around it, or else one of
    // more_claims, a RareClaim that keeps its owner: a pointer to it in every claim took 8
    // bytes of every copy.
    static constexpr uint32_t kMore = uint32_t{1} << 30;
    static constexpr uint32_t kServed = uint32_t{1} << 29;
    static constexpr uint32_t kIndex = kServed - 1;
    bool own() const noexcept { return (ref_ & kOwn) != 0; }
    const PackedRecords& own_records() const noexcept;
    uint32_t name_hash_ = 0;
    uint32_t ref_ = 0;
  };
  struct RareClaim : Claim {
    const Copy* owner = nullptr;
    uint32_t number = 0;  // kRareClaim | its place in rare_claims_, as hosts_ holds it
  };
  // What few copies have, apart: skips, the claims of an entry with more than one host, and
  // the records of claims that are not the usual (Claim). more_claims never grows while the
  // claims are linked; own_records may (a later claim's set()), as claims find theirs by index.
  struct Rare {
    PackedEntry entry;  // the copy's, while it has a rare
    std::vector<Skip> skips;
    std::vector<RareClaim> more_claims;  // after Copy::claim
    std::vector<PackedRecords> own_records;
  };
  struct Copy {
    Copy() noexcept { std::construct_at(&held_.entry); }
    ~Copy();
    Copy(const Copy&) = delete;
    Copy& operator=(const Copy&) = delete;

    const PackedEntry& entry() const noexcept {
      return has_rare_ ? held_.rare->entry : held_.entry;
    }
    PackedEntry& entry() noexcept { return has_rare_ ? held_.rare->entry : held_.entry; }
    Rare* rare() const noexcept { return has_rare_ ? held_.rare : nullptr; }
    // The copy's rare, made if it has none (its entry moves into it; the entry's bytes do not).
    Rare& make_rare();
    // Back to no rare, the entry moved back out of it.
    void drop_rare() noexcept;

    // The entry, or while the copy has a rare (skips, more claims, records of its own) the rare,
    // which holds the entry: few copies have one, and a pointer to it beside the entry took 8
    // bytes of every copy. Read through entry() and rare().
    union Held {
      Held() noexcept {}
      ~Held() {}
      PackedEntry entry;
      Rare* rare;
    } held_;
    // KeyHash::of its namespace/name: keys_ keeps no hashes, and reads this one when it moves
    // the copy's place. Its 29 bits share a word with the copy's flags, which on their own
    // (beside its slot, found from its address) took 8 bytes.
    uint32_t key_hash : kKeyHashBits = 0;
    uint32_t active : 1 = 0;     // the served copy of its namespace/name
    uint32_t has_claim : 1 = 0;  // `claim` is one
    uint32_t has_rare_ : 1 = 0;  // held_ is the rare
    Tag tag = 0;
    // Only while active, translate()'s for this entry alone (the first claim here, any more in
    // rare); they are never added to while they are linked into hosts_.
    Claim claim;
    const std::vector<Skip>& skipped() const noexcept;
  };
  // A million of them are most of the index: the hash and the flags share a word, the slot
  // is found from the copy's address (SlotPool::slot_of), and the hash tables that find it
  // hold its slot rather than a hook in it.
  static_assert(sizeof(void*) != 8 || sizeof(Copy) <= 24, "a copy grew");
  // fn(claim) for each of `copy`'s claims (const or not): `claim`, then rare's.
  template <typename SomeCopy, typename F>
  static void for_each_claim(SomeCopy& copy, F&& fn);
  struct Order {
    bool operator()(const Copy& a, const Copy& b) const;
    bool operator()(const Copy* a, const Copy* b) const { return (*this)(*a, *b); }
  };
  // namespace and name, viewing a copy's packed entry or a caller's text.
  using KeyView = std::pair<std::string_view, std::string_view>;
  static KeyView key_of(const Copy& copy) noexcept {
    return {copy.entry().namespace_(), copy.entry().name()};
  }
  // A key searched for: its text and its hash, computed once.
  struct KeyLookup {
    explicit KeyLookup(const KeyView& key) noexcept;
    KeyLookup(const KeyView& key, uint32_t key_hash) noexcept : view(key), hash(key_hash) {}
    KeyView view;
    uint32_t hash;
  };
  // A copy's own key, by the hash it keeps rather than hashed again.
  static KeyLookup lookup_of(const Copy& copy) noexcept {
    return KeyLookup(key_of(copy), copy.key_hash);
  }
  struct KeyHash {
    static uint32_t of(const KeyView& key) noexcept;
  };
  // Whether `copy` is of the key searched for: the hashes first, the entry's text if they agree.
  static bool is_of(const Copy& copy, const KeyLookup& key) noexcept {
    return copy.key_hash == key.hash && key_of(copy) == key.view;
  }
  // The claim serving each host is found by a 32-bit hash of the name, kept in the claim,
  // then by the name: the name of a claim that uses its owner's is in the owner's packed entry,
  // and reading it for every claim a walk passes cost a first load at 1M about 0.3 s.
  struct NameLookup {
    explicit NameLookup(std::string_view name) noexcept;
    std::string_view name;
    uint32_t hash;
  };
  // The served claim of `name`, or null.
  const Claim* served_claim(std::string_view name) const;
  const Claim* served_claim(const NameLookup& name) const;
  // Claims that lose their host to another, by name and then their owners' Order: the first of
  // a name takes over when the serving claim goes. Only conflicts are here, so few.
  struct ShadowOrder {
    using is_transparent = void;
    bool operator()(const Claim* a, const Claim* b) const;
    bool operator()(std::string_view a, const Claim* b) const { return a < b->name(); }
    bool operator()(const Claim* a, std::string_view b) const { return a->name() < b; }
  };
  // A touched key or host as it was before the batch, to report net changes.
  struct KeyBefore {
    std::vector<Skip> skips;
    std::vector<Conflict> duplicates;
  };
  struct HostBefore {
    std::optional<resolver::HostRecords> records;
    std::vector<Conflict> conflicts;
  };

  // `translation`: translate() of the copy's entry, which its caller has at hand unpacked.
  void activate(Copy& copy, EntryTranslation translation);
  void deactivate(Copy& copy);
  Copy& make_copy(PackedEntry entry, Tag tag);
  // `entry` as a copy keeps it: its block moved into arena_ when it fits there.
  PackedEntry keep(PackedEntry entry);
  // Destroys `copy`, already unlinked from everything, and hands its block back to arena_.
  void drop(Copy& copy) noexcept;
  // insert()'s work once the copy is made; `translate()` gives the entry's translation.
  template <typename Translate>
  Handle link_new(Copy& copy, Translate translate);
  // Into `handles` unless null, by the entries' order.
  template <typename Entry>
  void insert_all_of(std::vector<Entry>& entries, Tag tag, std::vector<Handle>* handles);
  // translate() of a bulk-loaded entry: the caller's, or for one handed over packed (and moved
  // into `copy`), the copy's unpacked.
  EntryTranslation translate(const ServiceEntry& entry, const Copy& copy);
  EntryTranslation translate(const PackedEntry& moved_from, const Copy& copy);
  // translate() of a packed entry, unpacked into unpacked_.
  EntryTranslation translate_packed(const PackedEntry& entry);
  void touch_key(const KeyView& key);
  void touch_host(const std::string& name);
  // translate()'s skips and conflicts, in its order.
  void problems_into(Translation& out) const;
  // The copies `wanted` picks, in translate()'s processing order. No set keeps that order: its
  // hook took 24 bytes a copy and each insert a descent with a cache miss per level, for the
  // few copies with a problem to report, and for explain.
  std::vector<const Copy*> in_order(const std::function<bool(const Copy&)>& wanted) const;
  KeyBefore key_view(const KeyView& key) const;
  // Counted in and out of tag_counts_.
  void link_tagged(Copy& copy);
  void unlink_tagged(Copy& copy);
  // Into keys_, and room there for `keys` in all.
  void link_key(Copy& copy);
  void reserve_keys(size_t keys);
  void reserve_hosts(size_t hosts);
  // fn(copy) for each copy of `key` (const or not), in no particular order.
  template <typename F>
  void for_each_copy_of(const KeyLookup& key, F&& fn) const;
  // A claim as hosts_ holds it: its owner's slot, or for one of more_claims kRareClaim and its
  // place in rare_claims_.
  static constexpr uint32_t kRareClaim = uint32_t{1} << 31;
  uint32_t number_of(const Claim& claim) const noexcept;
  const Claim& claim_at(uint32_t number) const noexcept;
  Claim& claim_at(uint32_t number) noexcept;
  // The hashes of what keys_ and hosts_ hold, read back when their elements move.
  auto key_hash_of() const noexcept {
    return [this](uint32_t slot) -> uint32_t { return copies_.at_slot(slot).key_hash; };
  }
  auto name_hash_of() const noexcept {
    return [this](uint32_t number) { return claim_at(number).name_hash(); };
  }
  // Makes `claim` the one hosts_ holds for its name, in place of `served` (null: none).
  void serve(Claim& claim, Claim* served);
  // Numbers a rare claim for hosts_, and hands its number back.
  void number_rare_claim(RareClaim& claim);
  void drop_rare_claim_number(RareClaim& claim) noexcept;
  // The served (active) copy of `key`; null when it has none.
  const Copy* served_of(const KeyView& key) const;
  const Copy* served_of(const KeyLookup& key) const;
  HostBefore host_view(const std::string& name) const;
  // The handle naming `copy`, from its slot (which it does not keep).
  Handle handle_of(const Copy& copy) const noexcept {
    return copies_.handle(copies_.slot_of(copy));
  }

  EntryTranslator translator_;
  ServiceEntry unpacked_;  // translate_packed()'s, kept for its strings' and vectors' room
  std::vector<resolver::Ipv4> quads_;  // Claim::set's scratch room
  // The copies' packed entries' blocks; declared before copies_, which borrow them.
  EntryArena arena_;
  SlotPool<Copy> copies_;
  // Every copy by namespace/name, as its slot: the copies of one key are found together, and
  // its served copy is the active one.
  SlotTable keys_{kKeyHashBits};
  std::unordered_map<Tag, size_t> tag_counts_;  // copies held by tag
  // The claim serving each host, as number_of() it, by NameLookup's hash: a hash table, where a
  // tree by name took a cache miss per level (about 20 at 1M) to place each claim.
  SlotTable hosts_{32};
  std::vector<RareClaim*> rare_claims_;  // by number; null where free
  std::vector<uint32_t> free_rare_numbers_;
  std::multiset<Claim*, ShadowOrder> shadowed_;
  std::map<std::pair<std::string, std::string>, KeyBefore> touched_keys_;
  std::map<std::string, HostBefore> touched_hosts_;
  // Since the last take_changes() the index was empty and then bulk-loaded: the changes are
  // the whole translation, and nothing needs touching meanwhile.
  bool loaded_from_empty_ = false;
  bool lookups_released_ = false;
  size_t names_ = 0;
  size_t addresses_ = 0;
  std::array<size_t, kSkipReasonCount> skipped_by_reason_{};
  size_t conflicts_ = 0;
};

}  // namespace globaldns::sync

// PackedEntry: every field survives packing, equality and the winner rule read it as unpacked.
#include "sync/packed_entry.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sync/translate.hpp"

namespace globaldns::sync {
namespace {

ServiceEntry full_entry() {
  ServiceEntry e;
  e.namespace_ = "istio-testing";
  e.name = "httpbin-cluster2";
  e.created_unix = -86400;  // before 1970: the sign survives
  e.hosts = {"httpbin.istio-testing.global", "*.wild.global", std::string(300, 'h')};
  e.addresses = {"240.0.0.2", "2001:db8::1", "240.0.0.0/30"};
  e.status_addresses = {{"240.0.0.9", "httpbin.istio-testing.global"}, {"240.0.0.10", ""}};
  e.resolution = Resolution::DnsRoundRobin;
  e.origin = Origin("clusters/c2.yaml").with_line(4242);
  return e;
}

TEST(PackedEntryTest, UnpacksToEveryFieldItWasPackedFrom) {
  const ServiceEntry e = full_entry();
  const PackedEntry packed(e);
  EXPECT_EQ(packed.unpack(), e);
  EXPECT_EQ(packed.namespace_(), "istio-testing");
  EXPECT_EQ(packed.name(), "httpbin-cluster2");
  EXPECT_EQ(packed.key(), "istio-testing/httpbin-cluster2");
  EXPECT_EQ(packed.created_unix(), std::optional<int64_t>(-86400));
  EXPECT_EQ(packed.origin().text(), "clusters/c2.yaml:4242");
  EXPECT_EQ(packed.resolution(), Resolution::DnsRoundRobin);
  std::vector<std::string> hosts;
  packed.for_each_host([&](std::string_view host) { hosts.emplace_back(host); });
  EXPECT_EQ(hosts, e.hosts);
  for (size_t i = 0; i < e.hosts.size(); ++i) {
    EXPECT_EQ(packed.host(i), e.hosts[i]);
    EXPECT_EQ(packed.host_index(e.hosts[i]), std::optional<size_t>(i));
  }
  EXPECT_EQ(packed.host_index("httpbin.istio-testing.global."), std::nullopt);  // exactly
  EXPECT_EQ(packed.address_count(), 3u);
  std::vector<resolver::Ipv4> quads;
  EXPECT_FALSE(packed.addresses_as_quads(quads));  // an IPv6 address and a CIDR among them
  ServiceEntry quads_only = e;
  quads_only.addresses = {"240.0.0.2", "10.1.200.255"};
  EXPECT_TRUE(PackedEntry(quads_only).addresses_as_quads(quads));
  EXPECT_EQ(quads, (std::vector<resolver::Ipv4>{{240, 0, 0, 2}, {10, 1, 200, 255}}));
  ServiceEntry none = e;
  none.addresses.clear();
  EXPECT_TRUE(PackedEntry(none).addresses_as_quads(quads));
  EXPECT_TRUE(quads.empty());
  EXPECT_EQ(PackedEntry(none).address_count(), 0u);
}

TEST(PackedEntryTest, UnpackIntoReplacesEveryField) {
  ServiceEntry out = full_entry();
  ServiceEntry small;
  small.namespace_ = "ns";
  small.name = "a";
  small.hosts = {"a.global"};
  small.addresses = {"240.0.0.1"};
  PackedEntry(small).unpack_into(out);
  EXPECT_EQ(out, small);  // no creation time, status address, resolution or origin left over
  const ServiceEntry full = full_entry();
  PackedEntry(full).unpack_into(out);
  EXPECT_EQ(out, full);
  PackedEntry().unpack_into(out);
  EXPECT_EQ(out, ServiceEntry{});
}

TEST(PackedEntryTest, LengthsAndCountsPastOneVarintByte) {
  ServiceEntry e;
  e.namespace_ = std::string(70000, 'n');  // three bytes of length
  e.name = std::string(128, 'x');          // the first size needing two
  for (int i = 0; i < 300; ++i) {
    std::string host = "h";
    host += std::to_string(i);
    host += ".global";
    e.hosts.push_back(std::move(host));
  }
  const PackedEntry packed(e);
  EXPECT_EQ(packed.unpack(), e);
  EXPECT_EQ(packed.name(), e.name);
  EXPECT_TRUE(packed == e);
}

// IPv4 addresses written as plain dotted quads are held as 4 bytes; every other text, however
// close, as written. Either way unpack() gives back the text, and equality reads it so.
TEST(PackedEntryTest, AddressesComeBackAsWrittenWhateverTheyAre) {
  const std::vector<std::string> texts = {
      "240.0.0.2",   "0.0.0.0",     "255.255.255.255",    "10.20.30.40", "1.22.133.4",
      "256.0.0.1",   "240.0.0.01",  "240.00.0.1",         "240.0.0",     "240.0.0.1.5",
      "240.0.0.1 ",  " 240.0.0.1",  "240.0.0.",           ".240.0.0.1",  "240..0.1",
      "2400.0.0.1",  "240.0.0.0/8", "::ffff:240.0.0.1",   "2001:db8::1", "",
      "240.0.0.1\n", "x.y.z.w",     std::string(200, '1')};
  ServiceEntry e;
  e.namespace_ = "ns";
  e.name = "addresses";
  e.hosts = {"a.global"};
  e.addresses = texts;
  e.status_addresses = {{"240.0.0.9", "a.global"}};
  const PackedEntry packed(e);
  EXPECT_EQ(packed.unpack().addresses, texts);
  EXPECT_TRUE(packed == e);
  EXPECT_TRUE(PackedEntry(e) == packed);
  for (size_t i = 0; i < texts.size(); ++i) {
    ServiceEntry changed = e;
    changed.addresses[i] = i == 0 ? "240.0.0.3" : "240.0.0.2";
    EXPECT_FALSE(packed == changed) << texts[i];
    EXPECT_FALSE(PackedEntry(changed) == packed) << texts[i];
  }
}

TEST(PackedEntryTest, EmptyReadsAsADefaultEntry) {
  const PackedEntry empty;
  EXPECT_EQ(empty.unpack(), ServiceEntry{});
  EXPECT_TRUE(empty == ServiceEntry{});
  EXPECT_EQ(empty.key(), "/");
  EXPECT_EQ(empty.created_unix(), std::nullopt);
  const PackedEntry packed_default{ServiceEntry{}};
  EXPECT_EQ(packed_default.unpack(), ServiceEntry{});
  EXPECT_EQ(compare_precedence(empty, packed_default), std::weak_ordering::equivalent);
}

// The index keeps copies whose blocks live in its arena: a copy reads as its original, owns
// nothing, and its clone owns a block of its own.
TEST(PackedEntryTest, ACopyIntoRoomReadsAsItsOriginalAndCloneOwnsItsBlock) {
  const ServiceEntry e = full_entry();
  auto original = std::make_unique<PackedEntry>(e);
  EXPECT_FALSE(original->borrowed());
  const size_t size = original->size_bytes();
  // The header (at least a flags byte and the two varints of the origin), then the body: each
  // field's bytes and its length.
  EXPECT_GT(size, 3 + e.namespace_.size() + e.name.size() + e.hosts[2].size());
  std::vector<uint64_t> room((size + 7) / 8, ~uint64_t{0});  // 8-aligned, not zeroed
  char* at = reinterpret_cast<char*>(room.data());
  PackedEntry copy = PackedEntry::copy_into(*original, size, at);
  original.reset();  // the copy does not read the original's block
  EXPECT_TRUE(copy.borrowed());
  EXPECT_EQ(copy.data(), at);
  EXPECT_EQ(copy.size_bytes(), size);
  EXPECT_EQ(copy.unpack(), e);
  EXPECT_EQ(copy.origin().text(), "clusters/c2.yaml:4242");

  PackedEntry moved = std::move(copy);  // still borrowed: the move frees nothing
  EXPECT_TRUE(moved.borrowed());
  EXPECT_EQ(copy.data(), nullptr);
  PackedEntry clone = moved.clone();
  EXPECT_FALSE(clone.borrowed());
  EXPECT_NE(clone.data(), at);
  std::fill(room.begin(), room.end(), 0);  // the room reused: the clone is unaffected
  EXPECT_EQ(clone.unpack(), e);
  EXPECT_TRUE(clone == e);

  const PackedEntry empty;
  EXPECT_EQ(empty.size_bytes(), 0u);
  const PackedEntry empty_copy = PackedEntry::copy_into(empty, 0, at);
  EXPECT_EQ(empty_copy.data(), nullptr);
  EXPECT_EQ(empty_copy.unpack(), ServiceEntry{});
}

// Every field that goes in the header survives, at its extremes.
TEST(PackedEntryTest, HeaderFieldsSurviveAtTheirExtremes) {
  ServiceEntry e;
  e.namespace_ = "n";
  for (const int64_t created : {std::numeric_limits<int64_t>::min() + 1, int64_t{-1}, int64_t{0},
                                std::numeric_limits<int64_t>::max()}) {
    for (const uint32_t line : {0u, 1u, 0xFFFFFFFFu}) {
      for (const Resolution r : {Resolution::None, Resolution::DnsRoundRobin, Resolution::Unset}) {
        e.created_unix = created;
        e.origin = Origin("where").with_line(line);
        e.resolution = r;
        const PackedEntry packed(e);
        EXPECT_EQ(packed.created_unix(), std::optional<int64_t>(created));
        EXPECT_EQ(packed.origin().line(), line);
        EXPECT_EQ(packed.origin().where(), "where");
        EXPECT_EQ(packed.resolution(), r);
        EXPECT_EQ(packed.unpack(), e);
      }
    }
  }
  e.created_unix.reset();
  EXPECT_EQ(PackedEntry(e).created_unix(), std::nullopt);
}

// The header takes what its fields need: a creation time 4 bytes from 1970 to 2106, 8 outside,
// none when absent; the origin's line as a varint.
TEST(PackedEntryTest, HeaderTakesWhatItsFieldsNeed) {
  ServiceEntry e;
  e.namespace_ = "ns9999";
  e.name = "svc99";
  e.hosts = {"svc99.ns9999.global"};
  e.addresses = {"240.0.0.1"};
  e.origin = Origin("part-0000.yaml").with_line(1);
  const size_t none = PackedEntry(e).size_bytes();
  const auto size_created = [&](int64_t created) {
    e.created_unix = created;
    const PackedEntry packed(e);
    EXPECT_EQ(packed.created_unix(), std::optional<int64_t>(created));
    return packed.size_bytes();
  };
  EXPECT_EQ(size_created(0), none + 4);
  EXPECT_EQ(size_created(1704067200), none + 4);  // 2024-01-01
  EXPECT_EQ(size_created(0xFFFFFFFF), none + 4);
  EXPECT_EQ(size_created(0x100000000), none + 8);
  EXPECT_EQ(size_created(-1), none + 8);
  e.created_unix.reset();
  e.origin = e.origin.with_line(220000);  // three varint bytes where line 1 took one
  EXPECT_EQ(PackedEntry(e).size_bytes(), none + 2);
  e.origin = e.origin.with_line(0xFFFFFFFF);
  EXPECT_EQ(PackedEntry(e).size_bytes(), none + 4);
  // The body of this entry is 41 bytes (each text and count with its length byte, the address
  // as a tag and 4 bytes), the header a flags byte and at least 2 for the origin.
  EXPECT_GE(none, 41u + 3u);
  EXPECT_LE(none, 41u + 3u + 2u);  // an origin numbered up to 16,383 takes 2 bytes
}

// An origin goes into the header as its interned text's number: many texts, across the chunks
// the numbers are kept in, each comes back as the same interned text, from any thread.
TEST(PackedEntryTest, OriginsComeBackByTheirNumbers) {
  std::vector<ServiceEntry> entries;
  for (uint32_t i = 0; i < 700; ++i) {
    ServiceEntry e;
    e.origin = Origin("numbered/" + std::to_string(i) + ".yaml").with_line(i);
    entries.push_back(std::move(e));
  }
  std::vector<PackedEntry> packed;
  for (const auto& e : entries) packed.emplace_back(e);
  std::thread reader([&] {
    for (size_t i = 0; i < entries.size(); ++i) {
      EXPECT_EQ(&packed[i].origin().where(), &entries[i].origin.where()) << i;
      EXPECT_EQ(packed[i].origin().line(), i);
    }
  });
  reader.join();
  EXPECT_EQ(PackedEntry(ServiceEntry{}).origin().where(), "");
}

TEST(PackedEntryTest, EqualityTellsEveryFieldApart) {
  const ServiceEntry base = full_entry();
  const PackedEntry packed(base);
  EXPECT_TRUE(packed == base);
  const std::vector<std::function<void(ServiceEntry&)>> changes = {
      [](ServiceEntry& e) { e.namespace_ += "x"; },
      [](ServiceEntry& e) { e.name = "httpbin-cluster3"; },
      [](ServiceEntry& e) { e.created_unix = std::nullopt; },
      [](ServiceEntry& e) { e.created_unix = 0; },
      [](ServiceEntry& e) { e.hosts.pop_back(); },
      [](ServiceEntry& e) { e.hosts[0] = "httpbin.istio-testing.globaL"; },
      [](ServiceEntry& e) { e.addresses.push_back("240.0.0.3"); },
      [](ServiceEntry& e) { e.status_addresses[1].host = "x.global"; },
      [](ServiceEntry& e) { e.status_addresses[0].value = "240.0.0.8"; },
      // A body that is the other's with its end cut off: the sizes, walked, tell them apart.
      [](ServiceEntry& e) { e.status_addresses.pop_back(); },
      [](ServiceEntry& e) { e.created_unix = std::numeric_limits<int64_t>::max(); },
      [](ServiceEntry& e) { e.resolution = Resolution::Dns; },
      [](ServiceEntry& e) { e.origin = e.origin.with_line(1); },
      [](ServiceEntry& e) { e.origin = Origin("clusters/c3.yaml").with_line(4242); },
      // The same bytes in other fields: lengths and counts keep them apart.
      [](ServiceEntry& e) {
        e.namespace_ = "istio-testinghttpbin";
        e.name = "-cluster2";
      },
      [](ServiceEntry& e) {
        e.addresses.push_back(e.hosts.back());
        e.hosts.pop_back();
      },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    ServiceEntry changed = base;
    changes[i](changed);
    EXPECT_FALSE(packed == changed) << "change " << i;
    EXPECT_FALSE(PackedEntry(changed) == base) << "change " << i;
    EXPECT_TRUE(PackedEntry(changed) == changed) << "change " << i;
    // Packed against packed, as a Kubernetes list is compared with what the index holds.
    EXPECT_FALSE(PackedEntry(changed) == packed) << "change " << i;
    EXPECT_FALSE(packed == PackedEntry(changed)) << "change " << i;
    EXPECT_TRUE(PackedEntry(changed) == PackedEntry(changed)) << "change " << i;
  }
  EXPECT_TRUE(PackedEntry(base) == packed);
  // An empty one equals a default entry's, however it came about.
  EXPECT_TRUE(PackedEntry() == PackedEntry(ServiceEntry{}));
  EXPECT_FALSE(PackedEntry() == packed);
}

// Random entries from few values, so that every field ties often and the comparison has to
// reach the fields it reads only unpacked.
TEST(PackedEntryTest, PrecedenceIsTheEntriesOwn) {
  std::mt19937 rng(7);
  const auto pick = [&rng](size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  std::vector<ServiceEntry> entries;
  for (int i = 0; i < 300; ++i) {
    ServiceEntry e;
    // Built, not assigned from a literal: that trips g++ 12's false -Wrestrict.
    e.namespace_ = std::string(1, static_cast<char>('a' + pick(2)));
    e.name = std::string(1, static_cast<char>('p' + pick(2)));
    if (pick(4) != 0) e.created_unix = static_cast<int64_t>(pick(2));
    for (size_t h = pick(3); h > 0; --h) e.hosts.push_back(pick(2) == 0 ? "x.global" : "y.global");
    for (size_t a = pick(3); a > 0; --a) e.addresses.push_back(pick(2) == 0 ? "240.0.0.1" : "::1");
    if (pick(4) == 0) e.status_addresses.push_back({"240.0.0.2", pick(2) == 0 ? "" : "x.global"});
    e.resolution = pick(2) == 0 ? Resolution::Static : Resolution::Dns;
    e.origin = Origin(pick(2) == 0 ? "f.yaml" : "g.yaml").with_line(static_cast<uint32_t>(pick(2)));
    entries.push_back(std::move(e));
  }
  std::vector<PackedEntry> packed;
  for (const auto& e : entries) packed.emplace_back(e);
  size_t ties = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    for (size_t j = 0; j < entries.size(); ++j) {
      const auto expected = compare_precedence(entries[i], entries[j]);
      ASSERT_EQ(compare_precedence(packed[i], packed[j]), expected) << i << " against " << j;
      if (expected == 0 && !(entries[i] == entries[j])) ++ties;
    }
  }
  EXPECT_EQ(ties, 0U) << "entries equal under the rule are identical";
}

}  // namespace
}  // namespace globaldns::sync

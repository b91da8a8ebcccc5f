// stream_list: a plain ServiceEntryList page decoded without a DOM, item by item.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "sync/kube/json_service_entry.hpp"
#include "sync/kube/json_util.hpp"
#include "sync/kube/list_decoder.hpp"
#include "sync/origin.hpp"

namespace globaldns::sync::kube {

// At 1M, the io thread spends most of a first list decoding pages, and building each page's DOM
// was 60 % of that (BM_DecodeListPage). This reads a page with Boost.JSON's event parser
// instead, straight into one KubeObject refilled per item.
//
// It accepts only the page every API server writes for valid ServiceEntries: each item an
// object with kind ServiceEntry of a served apiVersion, a name, non-empty spec.hosts, strings
// where decode_list() wants strings, a creationTimestamp that is RFC 3339 or null, no key twice.
// On such a page, the objects passed to `each`, in order, and the page returned (with no
// objects) are exactly what decode_list() gives. On any other page, malformed or with a single
// item that decode_list() would skip or warn about, it returns nullopt having perhaps called
// `each` for some items: the caller drops what it took from them and calls decode_list(), which
// says what is wrong. Never throws.
std::optional<DecodedList> stream_list(std::string_view body, const Origin& origin,
                                       const std::function<void(const KubeObject&)>& each,
                                       const JsonLimits& limits = {});

}  // namespace globaldns::sync::kube

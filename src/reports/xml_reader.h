// A pull reader over libxml2's xmlTextReader, configured for hostile input: XML_PARSE_NONET, no
// DTD loading or validation, no entity substitution (an entity reference stays unexpanded, so
// "billion laughs" costs nothing), XML_PARSE_HUGE off, and Kiln's own depth and byte caps. A
// UTF-8 byte-order mark, CRLF and a missing XML declaration are fine.
//
// Thread safety: one reader per thread. libxml2's global error handler is not used: errors are
// collected per reader.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.h"

namespace kiln::reports {

class XmlReader {
 public:
  enum class Node { kStart, kEnd, kText };  // kText: text and CDATA, concatenated per run

  // Reads from `fd` (borrowed). `display_name` names the file in errors.
  static Result<std::unique_ptr<XmlReader>> open(int fd, std::string_view display_name,
                                                 std::uint64_t max_bytes, int max_depth);
  ~XmlReader();
  XmlReader(const XmlReader&) = delete;
  XmlReader& operator=(const XmlReader&) = delete;

  // Advances to the next start tag, end tag or text. nullopt at the end of the document.
  // kInvalidArgument "<name>:<line>:<col>: <libxml2's message>" for malformed XML, and for a
  // document past a cap. An empty element (<a/>) gives kStart then kEnd.
  [[nodiscard]] Result<std::optional<Node>> next();

  std::string_view name() const;                                      // local name, kStart/kEnd
  std::optional<std::string> attribute(std::string_view name) const;  // kStart only
  std::string text() const;                                           // kText
  int depth() const;                                                  // the root element is 0
  int line() const;

  // An error at the reader's position: "<name>:<line>:<col>: <what>".
  Error error_here(std::string_view what) const;

 private:
  struct Impl;
  explicit XmlReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::reports

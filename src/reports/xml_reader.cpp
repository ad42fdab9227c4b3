#include "reports/xml_reader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "util/dl_symbol.h"
#include "util/string.h"

namespace kiln::reports {
namespace {

// The libxml2 entry points the reader uses, resolved once per process (as net/curl_client.cpp
// does for libcurl).
struct XmlApi {
  void (*init_parser)();
  xmlTextReaderPtr (*reader_for_io)(xmlInputReadCallback, xmlInputCloseCallback, void*, const char*,
                                    const char*, int);
  void (*free_reader)(xmlTextReaderPtr);
  void (*set_error_handler)(xmlTextReaderPtr, xmlStructuredErrorFunc, void*);
  int (*read)(xmlTextReaderPtr);
  int (*node_type)(xmlTextReaderPtr);
  int (*depth)(xmlTextReaderPtr);
  int (*is_empty)(xmlTextReaderPtr);
  const xmlChar* (*local_name)(xmlTextReaderPtr);
  const xmlChar* (*value)(xmlTextReaderPtr);
  int (*move_to_attribute)(xmlTextReaderPtr, const xmlChar*);
  int (*move_to_element)(xmlTextReaderPtr);
  xmlNodePtr (*current_node)(xmlTextReaderPtr);
  long (*get_line_no)(const xmlNode*);
  int (*parser_line)(xmlTextReaderPtr);
};

Result<const XmlApi*> load_libxml2() {
  static std::once_flag once;
  static XmlApi api{};
  static std::string problem;
  std::call_once(once, [] {
    void* lib = ::dlopen("libxml2.so.2", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      problem = std::string("libxml2 is not installed (apt-get install libxml2): ") + ::dlerror();
      return;
    }
    const bool ok =
        dl_resolve(lib, "xmlInitParser", api.init_parser) &&
        dl_resolve(lib, "xmlReaderForIO", api.reader_for_io) &&
        dl_resolve(lib, "xmlFreeTextReader", api.free_reader) &&
        dl_resolve(lib, "xmlTextReaderSetStructuredErrorHandler", api.set_error_handler) &&
        dl_resolve(lib, "xmlTextReaderRead", api.read) &&
        dl_resolve(lib, "xmlTextReaderNodeType", api.node_type) &&
        dl_resolve(lib, "xmlTextReaderDepth", api.depth) &&
        dl_resolve(lib, "xmlTextReaderIsEmptyElement", api.is_empty) &&
        dl_resolve(lib, "xmlTextReaderConstLocalName", api.local_name) &&
        dl_resolve(lib, "xmlTextReaderConstValue", api.value) &&
        dl_resolve(lib, "xmlTextReaderMoveToAttribute", api.move_to_attribute) &&
        dl_resolve(lib, "xmlTextReaderMoveToElement", api.move_to_element) &&
        dl_resolve(lib, "xmlTextReaderCurrentNode", api.current_node) &&
        dl_resolve(lib, "xmlGetLineNo", api.get_line_no) &&
        dl_resolve(lib, "xmlTextReaderGetParserLineNumber", api.parser_line);
    if (!ok) {
      problem = "libxml2.so.2 lacks a function Kiln needs (libxml2 2.9 or newer is required)";
      return;
    }
    api.init_parser();
  });
  if (!problem.empty()) return fail(ErrorCode::kIo, problem);
  return &api;
}

// No NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR/DTDVALID (no external DTD), no
// HUGE (libxml2's own text, depth and amplification caps stay on), no NOCDATA (CDATA arrives
// as its own node, merged into the text run below). BIG_LINES keeps line numbers past 65535.
constexpr int kOptions = XML_PARSE_NONET | XML_PARSE_BIG_LINES;

// A text run longer than this is cut: every consumer keeps at most kMaxMessageChars of it, and
// a file of one huge failure text must not cost its size in memory twice.
constexpr std::size_t kMaxTextBytes = 1u << 20;

bool is_text(int type) {
  return type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
         type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
}

std::string_view as_view(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

}  // namespace

struct XmlReader::Impl {
  const XmlApi* api = nullptr;
  xmlTextReaderPtr reader = nullptr;
  std::string display;
  int fd = -1;
  std::uint64_t max_bytes = 0;
  std::uint64_t bytes_read = 0;
  int max_depth = 0;
  bool too_big = false;
  int io_errno = 0;
  std::string first_error;  // "<line>:<col>: message" of libxml2's first error
  std::string refused;      // why Kiln refused the document, if it did

  // Position bookkeeping for next().
  bool synth_end = false;     // the last kStart was an empty element: kEnd comes next
  bool have_pending = false;  // the reader sits on a node not yet delivered
  bool at_eof = false;
  int node_type = 0;  // libxml2's type of the node the reader sits on
  Node current = Node::kEnd;
  std::string text;
  int text_depth = 0;
  int text_line = 0;

  ~Impl() {
    if (reader != nullptr) api->free_reader(reader);
  }

  static int on_read(void* ctx, char* buffer, int len) {
    auto* self = static_cast<Impl*>(ctx);
    if (len <= 0) return 0;
    ssize_t n;
    do {
      n = ::read(self->fd, buffer, static_cast<std::size_t>(len));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      self->io_errno = errno;
      return -1;
    }
    self->bytes_read += static_cast<std::uint64_t>(n);
    if (self->bytes_read > self->max_bytes) {
      self->too_big = true;
      return -1;
    }
    return static_cast<int>(n);
  }

  static int on_close(void*) { return 0; }  // the fd is borrowed

  static void on_error(void* ctx, xmlErrorPtr err) {
    auto* self = static_cast<Impl*>(ctx);
    if (err == nullptr || err->level < XML_ERR_ERROR || !self->first_error.empty()) return;
    std::string msg = err->message != nullptr ? std::string(trim(err->message)) : "error";
    self->first_error = std::to_string(err->line) + ":" + std::to_string(err->int2) + ": " + msg;
  }

  Error error(std::string_view what) const {
    return Error(ErrorCode::kInvalidArgument, display + ":" + std::string(what));
  }

  // Why the last read failed, with the most specific cause first.
  Error read_failure() const {
    if (too_big) {
      return error(std::to_string(api->parser_line(reader)) +
                   ": file is larger than the limit of " + std::to_string(max_bytes) + " bytes");
    }
    if (io_errno != 0) {
      return error(std::to_string(api->parser_line(reader)) +
                   ": read failed: " + std::strerror(io_errno));
    }
    if (!refused.empty()) return error(refused);
    if (bytes_read == 0) return error("1:1: the file is empty");
    if (!first_error.empty()) return error(first_error);
    return error(std::to_string(api->parser_line(reader)) + ": malformed XML");
  }

  int node_line() const {
    const xmlNode* node = api->current_node(reader);
    if (node != nullptr) {
      const long line = api->get_line_no(node);
      if (line > 0) return static_cast<int>(line);
    }
    return api->parser_line(reader);
  }

  // Kiln's own refusals, checked as each node arrives.
  bool refuse(int type) {
    if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
      // Entity declarations are the door to billion laughs and external entities: no report
      // format uses them, so a document that declares any is refused whole.
      // The node itself, not xmlTextReaderCurrentDoc: that one makes the reader keep the
      // whole document for the caller to free.
      const xmlNode* node = api->current_node(reader);
      const auto* dtd = node != nullptr && node->type == XML_DTD_NODE
                            ? reinterpret_cast<const xmlDtd*>(node)  // NOLINT: libxml2's layout
                            : nullptr;
      if (dtd != nullptr && (dtd->entities != nullptr || dtd->pentities != nullptr)) {
        refused = std::to_string(node_line()) +
                  ":1: the DOCTYPE declares entities, which report files never need";
        return true;
      }
    }
    if (type == XML_READER_TYPE_ENTITY_REFERENCE) {
      refused = std::to_string(node_line()) + ":1: entity references are not allowed";
      return true;
    }
    if (type == XML_READER_TYPE_ELEMENT && api->depth(reader) > max_depth) {
      refused = std::to_string(node_line()) + ":1: elements nest deeper than " +
                std::to_string(max_depth) + " levels";
      return true;
    }
    return false;
  }

  // Reads one node: 1 read, 0 end of document, -1 failure.
  int advance() {
    const int r = api->read(reader);
    if (r < 0 || too_big || io_errno != 0) return -1;
    if (r == 1) {
      node_type = api->node_type(reader);
      if (refuse(node_type)) return -1;
    }
    return r;
  }
};

XmlReader::XmlReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XmlReader::~XmlReader() = default;

Result<std::unique_ptr<XmlReader>> XmlReader::open(int fd, std::string_view display_name,
                                                   std::uint64_t max_bytes, int max_depth) {
  auto api = load_libxml2();
  if (!api) return fail(api.error());
  auto impl = std::make_unique<Impl>();
  impl->api = *api;
  impl->display = std::string(display_name);
  impl->fd = fd;
  impl->max_bytes = max_bytes;
  impl->max_depth = max_depth;
  impl->reader = impl->api->reader_for_io(&Impl::on_read, &Impl::on_close, impl.get(), nullptr,
                                          nullptr, kOptions);
  if (impl->reader == nullptr) {
    if (impl->too_big || impl->io_errno != 0) return fail(impl->read_failure());
    return fail(ErrorCode::kInvalidArgument, impl->display + ":1:1: not an XML document");
  }
  impl->api->set_error_handler(impl->reader, &Impl::on_error, impl.get());
  return std::unique_ptr<XmlReader>(new XmlReader(std::move(impl)));
}

Result<std::optional<XmlReader::Node>> XmlReader::next() {
  Impl& m = *impl_;
  if (m.synth_end) {
    m.synth_end = false;
    m.current = Node::kEnd;
    return m.current;
  }
  if (m.at_eof) return std::nullopt;
  if (!m.have_pending) {
    const int r = m.advance();
    if (r < 0) return fail(m.read_failure());
    if (r == 0) {
      m.at_eof = true;
      return std::nullopt;
    }
  }
  m.have_pending = false;
  for (;;) {
    const int type = m.node_type;
    if (type == XML_READER_TYPE_ELEMENT) {
      m.synth_end = m.api->is_empty(m.reader) == 1;
      m.current = Node::kStart;
      return m.current;
    }
    if (type == XML_READER_TYPE_END_ELEMENT) {
      m.current = Node::kEnd;
      return m.current;
    }
    if (is_text(type)) {
      m.text.clear();
      m.text_depth = m.api->depth(m.reader);
      m.text_line = m.node_line();
      // One run of text and CDATA comes out as one kText, whatever the parser split it into.
      for (;;) {
        const std::string_view piece = as_view(m.api->value(m.reader));
        if (m.text.size() < kMaxTextBytes) {
          m.text.append(piece.substr(0, kMaxTextBytes - m.text.size()));
        }
        const int r = m.advance();
        if (r < 0) return fail(m.read_failure());
        if (r == 0) {
          m.at_eof = true;
          break;
        }
        if (!is_text(m.node_type)) {
          m.have_pending = true;
          break;
        }
      }
      m.current = Node::kText;
      return m.current;
    }
    // Comments, processing instructions, the DOCTYPE: nothing a parser needs.
    const int r = m.advance();
    if (r < 0) return fail(m.read_failure());
    if (r == 0) {
      m.at_eof = true;
      return std::nullopt;
    }
  }
}

std::string_view XmlReader::name() const {
  return as_view(impl_->api->local_name(impl_->reader));
}

std::optional<std::string> XmlReader::attribute(std::string_view name) const {
  const Impl& m = *impl_;
  if (m.current != Node::kStart) return std::nullopt;
  const std::string key(name);
  if (m.api->move_to_attribute(m.reader, reinterpret_cast<const xmlChar*>(key.c_str())) != 1) {
    return std::nullopt;
  }
  std::string value(as_view(m.api->value(m.reader)));
  m.api->move_to_element(m.reader);
  return value;
}

std::string XmlReader::text() const {
  return impl_->current == Node::kText ? impl_->text : "";
}

int XmlReader::depth() const {
  if (impl_->current == Node::kText) return impl_->text_depth;
  return impl_->api->depth(impl_->reader);
}

int XmlReader::line() const {
  if (impl_->current == Node::kText) return impl_->text_line;
  return impl_->node_line();
}

Error XmlReader::error_here(std::string_view what) const {
  // libxml2 keeps a line per node but no column, and the parser's own column is ahead of the
  // reader (it parses in chunks): the column of an error at a node is given as 1.
  return impl_->error(std::to_string(line()) + ":1: " + std::string(what));
}

}  // namespace kiln::reports

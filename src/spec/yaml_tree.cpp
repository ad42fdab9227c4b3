#include "spec/yaml_tree.h"

#include <cctype>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "spec/yaml_errors.h"

namespace kiln::spec::yaml {
namespace {

using MutableNode = std::shared_ptr<Node>;

Mark to_mark(const YAML::Mark& m) {
  return Mark{m.line + 1, m.column + 1};
}

// Thrown from an event handler to abandon the parse with a ready-made diagnostic.
struct Abandon {
  Diagnostic diagnostic;
};

// Thrown by DocumentProbe: we only want to know where the next document starts.
struct NextDocument {
  YAML::Mark mark;
};

bool is_merge_key(const Node& key) {
  return key.is_scalar() && key.plain && key.text == "<<";
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

Diagnostic decode_error(const Mark& mark, std::string message) {
  Diagnostic d;
  d.mark = mark;
  d.message = std::move(message);
  return d;  // go-yaml reports decoding errors without a line: yaml_line stays -1
}

Diagnostic merge_error(const Node& value) {
  return decode_error(value.mark, "map merge requires map or sequence of maps as the value");
}

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const std::string& text, std::vector<Diagnostic>& diagnostics)
      : text_(text), diagnostics_(diagnostics) {}

  NodePtr root() const { return root_; }
  // The last scalar of the document, where an unterminated quote would be.
  const YAML::Mark& last_scalar() const { return last_scalar_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto n = std::make_shared<Node>();
    n->mark = null_mark(mark);
    finish(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      // yaml-cpp knows the anchor but we only record finished nodes: the alias sits inside the
      // node it names. go-yaml refuses such a cycle, and so must we (walking it would not end).
      throw Abandon{decode_error(
          to_mark(mark), "anchor '" + alias_name(text_, mark.pos) + "' value contains itself")};
    }
    attach(it->second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::kScalar;
    n->mark = to_mark(mark);
    n->text = value;
    n->plain = tag == "?";
    last_scalar_ = mark;
    if (n->plain && !stack_.empty() && stack_.back().node->is_map() && !stack_.back().flow &&
        !stack_.back().pending_key && mark.pos >= 0) {
      if (auto e = multiline_key(text_, static_cast<size_t>(mark.pos), mark.line, mark.column))
        throw Abandon{std::move(*e)};
    }
    finish(std::move(n), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(Node::Kind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value style) override {
    open(Node::Kind::kMap, mark, anchor);
    stack_.back().flow = style == YAML::EmitterStyle::Flow;
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    MutableNode node;
    YAML::anchor_t anchor;
    NodePtr pending_key;  // maps: a key waiting for its value
    bool flow = false;    // maps: written as {...}, where keys may span lines
  };

  // yaml-cpp places an empty value at the token after it, often on a later line. Point at
  // what the user wrote instead: the key of an empty map value, or the line of an empty "-".
  Mark null_mark(const YAML::Mark& mark) const {
    if (!stack_.empty() && stack_.back().node->is_map() && stack_.back().pending_key)
      return stack_.back().pending_key->mark;
    if (stack_.empty() || !stack_.back().node->is_seq() || mark.pos <= 0 ||
        static_cast<size_t>(mark.pos) > text_.size())
      return to_mark(mark);
    int line = mark.line;
    size_t i = static_cast<size_t>(mark.pos);
    while (i > 0 && is_space(text_[i - 1])) {
      --i;
      if (text_[i] == '\n') --line;
    }
    const size_t line_start = text_.rfind('\n', i == 0 ? 0 : i - 1);
    size_t first = line_start == std::string::npos || i == 0 ? 0 : line_start + 1;
    const size_t begin = first;
    while (first < text_.size() && (text_[first] == ' ' || text_[first] == '\t')) ++first;
    return Mark{line + 1, static_cast<int>(first - begin) + 1};
  }

  void open(Node::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->mark = to_mark(mark);
    stack_.push_back(Frame{std::move(n), anchor, nullptr, false});
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.node->is_map()) {
      if (f.pending_key) {
        auto null_value = std::make_shared<Node>();
        null_value->mark = f.pending_key->mark;
        f.node->entries.emplace_back(std::move(f.pending_key), std::move(null_value));
      }
      normalize(*f.node);
    }
    finish(std::move(f.node), f.anchor);
  }

  // Anchors are recorded only once their node is complete; see OnAlias.
  void finish(MutableNode n, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = n;
    attach(std::move(n));
  }

  void attach(NodePtr n) {
    if (stack_.empty()) {
      if (!root_) root_ = std::move(n);
      return;
    }
    Frame& f = stack_.back();
    if (f.node->is_seq()) {
      f.node->items.push_back(std::move(n));
    } else if (!f.pending_key) {
      f.pending_key = std::move(n);
    } else {
      f.node->entries.emplace_back(std::move(f.pending_key), std::move(n));
      f.pending_key = nullptr;
    }
  }

  // Applies go-yaml's decoding rules to a finished map (see yaml_tree.h).
  void normalize(Node& map) {
    auto entries = std::move(map.entries);
    map.entries.clear();
    std::unordered_set<std::string> own_keys;
    for (const auto& [k, v] : entries)
      if (!is_merge_key(*k)) own_keys.insert(k->text);

    std::vector<std::pair<NodePtr, NodePtr>> out;
    std::unordered_map<std::string, size_t> index;  // key text -> position in `out`
    auto add = [&](const NodePtr& k, const NodePtr& v) {
      if (k->is_map() || k->is_seq()) {  // not comparable; the buildspec parser rejects it
        out.emplace_back(k, v);
        return;
      }
      index[k->text] = out.size();
      out.emplace_back(k, v);
    };
    for (const auto& [k, v] : entries) {
      if (is_merge_key(*k)) {
        std::vector<NodePtr> sources;
        if (v->is_map()) {
          sources.push_back(v);
        } else if (v->is_seq()) {
          sources = v->items;
        }
        if (sources.empty() && !v->is_seq()) throw Abandon{merge_error(*v)};
        for (const auto& src : sources) {
          if (!src->is_map()) throw Abandon{merge_error(*src)};
          for (const auto& [mk, mv] : src->entries)
            if (!own_keys.count(mk->text) && !index.count(mk->text)) add(mk, mv);
        }
        continue;
      }
      if (!k->is_map() && !k->is_seq()) {
        auto it = index.find(k->text);
        if (it != index.end()) {
          Diagnostic d;
          d.severity = Diagnostic::Severity::kWarning;
          d.mark = k->mark;
          d.message = "duplicate key \"" + k->text + "\" (the last one is used)";
          diagnostics_.push_back(std::move(d));
          out[it->second].first = nullptr;  // dropped below
        }
      }
      add(k, v);
    }
    for (auto& e : out)
      if (e.first) map.entries.push_back(std::move(e));
  }

  const std::string& text_;
  std::vector<Diagnostic>& diagnostics_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, NodePtr> anchors_;
  NodePtr root_;
  YAML::Mark last_scalar_ = YAML::Mark::null_mark();
};

class DocumentProbe : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { throw NextDocument{mark}; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// True when the document starting at `pos` was opened explicitly: by `---`, or after a `...`
// that closed the previous one.
bool explicit_document(const std::string& text, int pos) {
  if (pos < 0 || static_cast<size_t>(pos) > text.size()) return false;
  if (text.compare(pos, 3, "---") == 0) return true;
  // Find the last non-blank line before pos.
  size_t end = static_cast<size_t>(pos);
  while (end > 0) {
    size_t start = text.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    std::string_view line(text.data() + start, end - start);
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (!line.empty()) return line.starts_with("...");
    if (start == 0) break;
    end = start - 1;
  }
  return false;
}

// What go-yaml says when the first document's root is followed by something that is neither
// part of it nor a new document.
const char* trailing_content_message(const Node* root) {
  if (root && root->is_seq()) return "did not find expected '-' indicator";
  if (root && root->is_map()) return "did not find expected key";
  return "did not find expected <document start>";
}

}  // namespace

Document load(const std::string& source) {
  // yaml-cpp skips a UTF-8 byte order mark without counting it in its marks. Drop it here so
  // that the offsets the checks below use point at the right bytes.
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  const std::string text =
      std::string_view(source).starts_with(kBom) ? source.substr(kBom.size()) : source;
  Document doc;
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    TreeBuilder builder(text, doc.diagnostics);
    if (!parser.HandleNextDocument(builder)) return doc;
    const YAML::Mark last = builder.last_scalar();
    if (!last.is_null()) {
      if (auto e = unterminated_quote(text, last.pos, last.line, last.column)) {
        doc.diagnostics.push_back(std::move(*e));
        return doc;
      }
    }
    try {
      DocumentProbe probe;
      parser.HandleNextDocument(probe);
    } catch (const NextDocument& next) {
      if (explicit_document(text, next.mark.pos)) {
        Diagnostic d;
        d.severity = Diagnostic::Severity::kWarning;
        d.mark = to_mark(next.mark);
        d.message = "only the first YAML document is used; this one is ignored";
        doc.diagnostics.push_back(std::move(d));
      } else {
        doc.diagnostics.push_back(syntax_error(next.mark.line, next.mark.column,
                                               trailing_content_message(builder.root().get()),
                                               ErrorClass::kParser));
        return doc;
      }
    }
    doc.root = builder.root();
  } catch (const Abandon& a) {
    doc.diagnostics.push_back(a.diagnostic);
  } catch (const YAML::Exception& e) {
    // A key without its ':' makes yaml-cpp fail later, under another message (yaml_errors.h).
    auto key = multiline_root_key_before(text, e.mark.line, e.mark.column);
    doc.diagnostics.push_back(key ? std::move(*key)
                                  : translate_error(text, e.mark.line, e.mark.column, e.msg));
  } catch (const std::exception& e) {
    Diagnostic d;
    d.message = std::string("cannot parse YAML: ") + e.what();
    doc.diagnostics.push_back(std::move(d));
  }
  return doc;
}

}  // namespace kiln::spec::yaml

// XmlReader on well-formed input of every layout real tools write, and on hostile input:
// entity expansion, external entities and DTDs, the network, depth and size caps, broken
// documents. Hostile input must come back as a clear error, quickly, and leak nothing.
#include "reports/xml_reader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "reports/parse_fixture.h"

namespace kiln::reports {
namespace {

using fixture::fd_with;
using Node = XmlReader::Node;

// The document as a list of events: "<a x=1>" for a start (with the attributes asked for),
// "</a>", and "'text'" for non-blank text; or "ERROR: <message>".
std::string events(std::string_view doc, std::uint64_t max_bytes = 1 << 20, int max_depth = 64,
                   const char* attr = "x") {
  UniqueFd fd = fd_with(doc);
  auto r = XmlReader::open(fd.get(), "f.xml", max_bytes, max_depth);
  if (!r) return "ERROR: " + r.error().message();
  XmlReader& x = **r;
  std::string out;
  for (;;) {
    auto n = x.next();
    if (!n) return out + "ERROR: " + n.error().message();
    if (!*n) return out;
    switch (**n) {
      case Node::kStart: {
        out += "<" + std::string(x.name());
        if (auto v = x.attribute(attr)) out += " " + std::string(attr) + "=" + *v;
        out += ">";
        break;
      }
      case Node::kEnd: out += "</" + std::string(x.name()) + ">"; break;
      case Node::kText: {
        const std::string t = x.text();
        if (t.find_first_not_of(" \t\r\n") != std::string::npos) out += "'" + t + "'";
        break;
      }
    }
  }
}

TEST(XmlReader, EventsOfASmallDocument) {
  EXPECT_EQ(events("<?xml version=\"1.0\"?><a x=\"1\"><b/><c x='2'>hi</c></a>"),
            "<a x=1><b></b><c x=2>'hi'</c></a>");
}

TEST(XmlReader, CdataAndTextComeAsOneRun) {
  EXPECT_EQ(events("<a>one <![CDATA[<two> & ]]>three&#10;four &amp; five</a>"),
            "<a>'one <two> & three\nfour & five'</a>");
}

TEST(XmlReader, ByteOrderMarkCrlfAndSingleQuotedDeclaration) {
  EXPECT_EQ(
      events(
          "\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>\r\n<a x=\"1\">\r\n<b/>\r\n</a>\r\n"),
      "<a x=1><b></b></a>");
  EXPECT_EQ(events("<a>no declaration</a>"), "<a>'no declaration'</a>");
}

TEST(XmlReader, CrlfInTextBecomesLf) {
  EXPECT_EQ(events("<a>l1\r\nl2</a>"), "<a>'l1\nl2'</a>");
}

TEST(XmlReader, NamespacedElementsGiveTheirLocalName) {
  EXPECT_EQ(events("<TestRun xmlns=\"http://microsoft.com/schemas/VisualStudio/TeamTest/2010\">"
                   "<p:Results xmlns:p=\"urn:x\"/></TestRun>"),
            "<TestRun><Results></Results></TestRun>");
}

TEST(XmlReader, DepthAndLine) {
  UniqueFd fd = fd_with("<a>\n <b>\n  <c/>\n </b>\n</a>");
  auto r = XmlReader::open(fd.get(), "f.xml", 1 << 20, 64);
  ASSERT_TRUE(r);
  XmlReader& x = **r;
  std::vector<std::tuple<std::string, int, int>> seen;
  for (;;) {
    auto n = x.next();
    ASSERT_TRUE(n);
    if (!*n) break;
    if (**n == Node::kStart) seen.emplace_back(std::string(x.name()), x.depth(), x.line());
  }
  const std::vector<std::tuple<std::string, int, int>> want{{"a", 0, 1}, {"b", 1, 2}, {"c", 2, 3}};
  EXPECT_EQ(seen, want);
}

TEST(XmlReader, MalformedDocumentsNameFileAndLine) {
  // libxml2 parses ahead of the reader, so a small document fails before its first node.
  EXPECT_EQ(events("<a>\n<b>\n</a>"),
            "ERROR: f.xml:3:5: Opening and ending tag mismatch: b line 2 and a");
  const std::string truncated = events("<a>\n<b>text");
  EXPECT_NE(truncated.find("ERROR: f.xml:2:"), std::string::npos) << truncated;
  EXPECT_EQ(events(""), "ERROR: f.xml:1:1: the file is empty");
  const std::string junk = events("this is not xml");
  EXPECT_NE(junk.find("ERROR: f.xml:1:"), std::string::npos) << junk;
}

TEST(XmlReader, InvalidUtf8IsAnError) {
  const std::string out = events("<a>caf\xE9</a>");
  EXPECT_NE(out.find("ERROR: f.xml:1:"), std::string::npos) << out;
  EXPECT_NE(out.find("UTF-8"), std::string::npos) << out;
}

TEST(XmlReader, BillionLaughsIsRefusedQuickly) {
  std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n";
  std::string prev = "lol";
  for (int i = 1; i <= 9; ++i) {
    const std::string name = "lol" + std::to_string(i);
    doc += "<!ENTITY " + name + " \"";
    for (int k = 0; k < 10; ++k) doc += "&" + prev + ";";
    doc += "\">\n";
    prev = name;
  }
  doc += "]>\n<lolz>&lol9;</lolz>";
  const auto start = std::chrono::steady_clock::now();
  const std::string out = events(doc);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.rfind("ERROR: f.xml:", 0), 0u) << out.substr(0, 300);
  EXPECT_EQ(out.find("lollol"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST(XmlReader, ExternalEntityIsNotRead) {
  const std::string out = events(
      "<?xml version=\"1.0\"?>\n<!DOCTYPE a [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n"
      "<a>&xxe;</a>");
  EXPECT_EQ(out, "ERROR: f.xml:5:1: the DOCTYPE declares entities, which report files never need");
  EXPECT_EQ(out.find("root:"), std::string::npos);
}

TEST(XmlReader, ParameterEntityIsRefused) {
  const std::string out =
      events("<!DOCTYPE a [\n<!ENTITY % p SYSTEM \"file:///etc/passwd\">\n]>\n<a>x</a>");
  EXPECT_EQ(out.rfind("ERROR: f.xml:", 0), 0u) << out;
  EXPECT_EQ(out.find("root:"), std::string::npos);
}

TEST(XmlReader, ExternalDtdIsNeitherLoadedNorFetched) {
  // A DTD that would add a default attribute if it were loaded (DTDATTR) and a network one.
  char dir[] = "/tmp/kiln-xml-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string dtd = std::string(dir) + "/a.dtd";
  {
    UniqueFd f(::open(dtd.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    const std::string text = "<!ATTLIST a x CDATA \"from-dtd\">";
    ASSERT_EQ(::write(f.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  EXPECT_EQ(events("<!DOCTYPE a SYSTEM \"file://" + dtd + "\"><a>t</a>"), "<a>'t'</a>");
  EXPECT_EQ(events("<!DOCTYPE a SYSTEM \"http://192.0.2.1/a.dtd\"><a>t</a>"), "<a>'t'</a>");
  // gcovr's DOCTYPE (single-quoted SYSTEM) and Pester's empty internal subset are fine.
  EXPECT_EQ(
      events("<!DOCTYPE coverage SYSTEM 'http://cobertura.sourceforge.net/xml/coverage-04.dtd'>"
             "<coverage/>"),
      "<coverage></coverage>");
  EXPECT_EQ(events("<!DOCTYPE report PUBLIC \"-//JACOCO//DTD Report 1.1//EN\" \"report.dtd\"[]>"
                   "<report/>"),
            "<report></report>");
  ::unlink(dtd.c_str());
  ::rmdir(dir);
}

TEST(XmlReader, XIncludeIsNotFollowed) {
  EXPECT_EQ(events("<a xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
                   "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/></a>"),
            "<a><include></include></a>");
}

TEST(XmlReader, DepthCap) {
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "<d>";
  for (int i = 0; i < 20; ++i) deep += "</d>";
  EXPECT_EQ(events(deep, 1 << 20, 19).find("ERROR:"), std::string::npos);
  const std::string out = events(deep, 1 << 20, 10);
  EXPECT_NE(out.find("ERROR: f.xml:1:1: elements nest deeper than 10 levels"), std::string::npos)
      << out;
  // Far past libxml2's own limit too: refused, not a stack overflow.
  std::string very_deep;
  for (int i = 0; i < 100000; ++i) very_deep += "<d>";
  EXPECT_NE(events(very_deep, 1 << 20, 256).find("ERROR:"), std::string::npos);
}

TEST(XmlReader, SizeCapCountsTheBytesRead) {
  std::string doc = "<a>";
  for (int i = 0; i < 10000; ++i) doc += "<b x=\"1\">text</b>\n";
  doc += "</a>";
  EXPECT_EQ(events(doc, doc.size(), 64).find("ERROR:"), std::string::npos);
  const std::string out = events(doc, 4096, 64);
  EXPECT_NE(out.find("file is larger than the limit of 4096 bytes"), std::string::npos)
      << out.substr(out.size() - 200);
}

TEST(XmlReader, AttributeAbsentAndOnlyOnStart) {
  UniqueFd fd = fd_with("<a x=\"1\">t</a>");
  auto r = XmlReader::open(fd.get(), "f.xml", 1 << 20, 64);
  ASSERT_TRUE(r);
  XmlReader& x = **r;
  ASSERT_EQ(*x.next(), Node::kStart);
  EXPECT_EQ(x.attribute("y"), std::nullopt);
  EXPECT_EQ(x.attribute("x"), "1");
  EXPECT_EQ(x.name(), "a");  // reading an attribute leaves the reader on the element
  ASSERT_EQ(*x.next(), Node::kText);
  EXPECT_EQ(x.attribute("x"), std::nullopt);
  EXPECT_EQ(x.text(), "t");
}

TEST(XmlReader, ErrorHereNamesFileAndLine) {
  UniqueFd fd = fd_with("<a>\n\n<b/></a>");
  auto r = XmlReader::open(fd.get(), "dir/f.xml", 1 << 20, 64);
  ASSERT_TRUE(r);
  XmlReader& x = **r;
  ASSERT_TRUE(x.next());
  ASSERT_TRUE(x.next());  // whitespace
  ASSERT_EQ(*x.next(), Node::kStart);
  const std::string m = x.error_here("bad b").message();
  EXPECT_EQ(m.rfind("dir/f.xml:3:", 0), 0u) << m;
  EXPECT_NE(m.find(": bad b"), std::string::npos);
}

}  // namespace
}  // namespace kiln::reports

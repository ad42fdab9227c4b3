#include "net/s3_xml.h"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <sstream>

#include "util/string.h"

namespace kiln::net::s3wire {
namespace {

namespace pt = boost::property_tree;

// The XML text as a tree; nullopt when it is not XML (an HTML error page from a proxy, say).
std::optional<pt::ptree> parse_xml(std::string_view xml) {
  std::istringstream in{std::string(xml)};
  pt::ptree tree;
  try {
    pt::read_xml(in, tree);
  } catch (const pt::ptree_error&) {
    return std::nullopt;
  }
  return tree;
}

std::string child_text(const pt::ptree& node, const char* name) {
  return node.get<std::string>(name, "");
}

// Digits at `s[pos, pos + n)` as a number; -1 when any is not a digit.
int digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int value = 0;
  const auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, value);
  return ec == std::errc() && end == s.data() + pos + n ? value : -1;
}

double to_epoch(int year, int month, int day, int hour, int minute, int second) {
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60)
    return 0;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<double>(::timegm(&tm));
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
  // SigV4's unreserved set, plus '/' in paths.
  return percent_encode(text, keep_slash ? "-._~/" : "-._~");
}

std::string query_string(std::vector<std::pair<std::string, std::string>> params) {
  if (params.empty()) return "";
  for (auto& [name, value] : params) {
    name = uri_encode(name, false);
    value = uri_encode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) out += (out.empty() ? "?" : "&") + name + "=" + value;
  return out;
}

bool is_error_document(std::string_view body) {
  const auto tree = parse_xml(body);
  return tree && tree->get_child_optional("Error");
}

Error error_from_answer(long status, std::string_view body) {
  std::string code;
  std::string message;
  if (const auto tree = parse_xml(body)) {
    if (const auto error = tree->get_child_optional("Error")) {
      code = child_text(*error, "Code");
      message = child_text(*error, "Message");
    }
  }
  ErrorCode kind = ErrorCode::kIo;  // 5xx, and a 2xx carrying an <Error> (S3's InternalError)
  if (code == "NoSuchKey" || code == "NoSuchBucket" || code == "NoSuchVersion" || status == 404) {
    kind = ErrorCode::kNotFound;
  } else if (code == "AccessDenied" || status == 403) {
    kind = kPermissionCode;
  } else if (status >= 400 && status < 500) {
    kind = ErrorCode::kInvalidArgument;
  }
  if (code.empty()) return {kind, "HTTP " + std::to_string(status)};
  return {kind, code + ": " + message};
}

Result<ListPage> parse_list_page(std::string_view xml) {
  const auto tree = parse_xml(xml);
  const pt::ptree* root = tree ? tree->get_child_optional("ListBucketResult").get_ptr() : nullptr;
  if (root == nullptr)
    return fail(ErrorCode::kParse, "ListObjectsV2 answered with no ListBucketResult");
  ListPage page;
  for (const auto& [name, node] : *root) {
    if (name != "Contents") continue;
    ObjectInfo info;
    info.key = child_text(node, "Key");
    info.etag = unquote(child_text(node, "ETag"));
    info.last_modified = parse_iso8601(child_text(node, "LastModified"));
    const std::string size = child_text(node, "Size");
    const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), info.size);
    if (ec != std::errc() || end != size.data() + size.size())
      return fail(ErrorCode::kParse, "ListObjectsV2: bad Size '" + size + "' for " + info.key);
    page.objects.push_back(std::move(info));
  }
  page.truncated = child_text(*root, "IsTruncated") == "true";
  page.next_token = child_text(*root, "NextContinuationToken");
  return page;
}

Result<std::string> parse_upload_id(std::string_view xml) {
  const auto tree = parse_xml(xml);
  std::string id = tree ? tree->get<std::string>("InitiateMultipartUploadResult.UploadId", "") : "";
  if (id.empty()) return fail(ErrorCode::kParse, "CreateMultipartUpload answered with no UploadId");
  return id;
}

Result<std::string> parse_complete_etag(std::string_view xml) {
  const auto tree = parse_xml(xml);
  const pt::ptree* root = nullptr;
  // AWS says CompleteMultipartUploadResult; moto says CompleteMultipartUploadResponse.
  for (const char* name : {"CompleteMultipartUploadResult", "CompleteMultipartUploadResponse"})
    if (root == nullptr && tree) root = tree->get_child_optional(name).get_ptr();
  if (root == nullptr)
    return fail(ErrorCode::kParse,
                "CompleteMultipartUpload answered with no CompleteMultipartUploadResult");
  return unquote(child_text(*root, "ETag"));
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
  pt::ptree doc;
  pt::ptree& root = doc.add_child("CompleteMultipartUpload", pt::ptree());
  for (std::size_t i = 0; i < etags.size(); ++i) {
    pt::ptree& part = root.add_child("Part", pt::ptree());
    part.put("PartNumber", i + 1);
    part.put("ETag", etags[i]);
  }
  std::ostringstream out;
  pt::write_xml(out, doc);
  return out.str();
}

double parse_http_date(std::string_view text) {
  // IMF-fixdate, the only form S3 sends: "Sun, 06 Nov 1994 08:49:37 GMT".
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text.substr(25) != " GMT") return 0;
  const auto month = std::find(kMonths.begin(), kMonths.end(), text.substr(8, 3));
  if (month == kMonths.end()) return 0;
  return to_epoch(digits(text, 12, 4), static_cast<int>(month - kMonths.begin()) + 1,
                  digits(text, 5, 2), digits(text, 17, 2), digits(text, 20, 2),
                  digits(text, 23, 2));
}

double parse_iso8601(std::string_view text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text.back() != 'Z')
    return 0;
  double seconds = to_epoch(digits(text, 0, 4), digits(text, 5, 2), digits(text, 8, 2),
                            digits(text, 11, 2), digits(text, 14, 2), digits(text, 17, 2));
  // Fractions of a second: ".000" from S3, ".123456" from some compatible stores.
  if (seconds > 0 && text[19] == '.') {
    double scale = 0.1;
    for (std::size_t i = 20; i + 1 < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      seconds += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  return seconds;
}

std::string unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  return std::string(etag);
}

}  // namespace kiln::net::s3wire

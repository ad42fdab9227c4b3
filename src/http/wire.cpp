#include "http/wire.h"

#include <array>
#include <charconv>

#include "util/string.h"

namespace kiln::http {
namespace {

void append_number(std::string& out, std::size_t n, int base) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), n, base);
  out.append(buf.data(), r.ptr);
}

}  // namespace

// Lives here rather than in server.cpp so that users of Request need not link Beast's unit.
const std::string* Request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

int sanitize_status(int status) {
  return (status >= 100 && status <= 999) ? status : 500;
}

Framing length_framing(int status) {
  if (status < 200 || status == 204 || status == 304) return Framing::kNone;
  return Framing::kLength;
}

bool asks_to_close(const Response& response) {
  for (const auto& [name, value] : response.headers) {
    if (iequals(name, "connection") && iequals(value, "close")) return true;
  }
  return false;
}

bool append_head(std::string& out, const Response& response, Framing framing,
                 std::size_t content_length, ConnectionHeader connection) {
  const int status = sanitize_status(response.status);
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::size_t>(status), 10);
  out += ' ';
  out += reason_phrase(status);
  out += kCrlf;
  for (const auto& [name, value] : response.headers) {
    if (!is_token(name) || !is_field_value(value)) return false;
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
        iequals(name, "connection")) {
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += kCrlf;
  }
  switch (framing) {
    case Framing::kLength:
      out += "Content-Length: ";
      append_number(out, content_length, 10);
      out += kCrlf;
      break;
    case Framing::kChunked: out += "Transfer-Encoding: chunked\r\n"; break;
    case Framing::kUntilClose:
    case Framing::kNone: break;
  }
  switch (connection) {
    case ConnectionHeader::kOmit: break;
    case ConnectionHeader::kClose: out += "Connection: close\r\n"; break;
    case ConnectionHeader::kKeepAlive: out += "Connection: keep-alive\r\n"; break;
  }
  out += kCrlf;
  return true;
}

void append_chunk_size(std::string& out, std::size_t size) {
  append_number(out, size, 16);
  out += kCrlf;
}

std::string json_error_body(std::string_view type, std::string_view message) {
  std::string out = R"({"__type":")";
  auto append_escaped = [&out](std::string_view s) {
    for (const char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            out += "\\u00";
            out += to_hex(std::string_view(&c, 1));
          } else {
            out += c;
          }
      }
    }
  };
  append_escaped(type);
  out += R"(","message":")";
  append_escaped(message);
  out += "\"}";
  return out;
}

Response json_error(int status, std::string_view type, std::string_view message) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
  r.body = json_error_body(type, message);
  return r;
}

void split_target(std::string_view target, std::string& path, std::string& query) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) {
    path.assign(target);
    query.clear();
  } else {
    path.assign(target.substr(0, q));
    query.assign(target.substr(q + 1));
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool is_field_value(std::string_view s) {
  for (const char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace kiln::http

// The byte-level pieces of HTTP/1.1 that server.cpp writes: status lines, response heads, chunk
// framing and the JSON error bodies. Kept apart from the socket code (and from Beast) so they are
// tested directly. Thread safety: plain functions without shared state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/server.h"

namespace kiln::http {

// How the body of a response is delimited on the wire.
enum class Framing {
  kLength,      // Content-Length: n
  kChunked,     // Transfer-Encoding: chunked
  kUntilClose,  // neither header; the body ends when the connection closes (HTTP/1.0 streams)
  kNone,        // 1xx, 204, 304: no body and no length header
};

// What the Connection header says, if anything.
enum class ConnectionHeader { kOmit, kClose, kKeepAlive };

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
std::string_view reason_phrase(int status);

// The status to send: `status` when it is a three-digit code, else 500.
int sanitize_status(int status);

// The framing a response with this status needs when its body has a known length.
Framing length_framing(int status);

// True when the handler asked to close the connection ("Connection: close", any case).
bool asks_to_close(const Response& response);

// Appends "HTTP/1.1 <status> <reason>\r\n", the handler's headers (minus the framing ones the
// server owns) and the framing and Connection headers, then the blank line. Returns false, with
// `out` in an unspecified state, when a handler header cannot be sent safely.
bool append_head(std::string& out, const Response& response, Framing framing,
                 std::size_t content_length, ConnectionHeader connection);

// "<hex size>\r\n", the line before a chunk's data.
void append_chunk_size(std::string& out, std::size_t size);
inline constexpr std::string_view kCrlf = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// {"__type":"<type>","message":"<message>"}, JSON-escaped.
std::string json_error_body(std::string_view type, std::string_view message);

// A response with `status`, the AWS JSON 1.1 content type and json_error_body().
Response json_error(int status, std::string_view type, std::string_view message);

// Splits a request-target at the first '?': path before, query after (without the '?').
void split_target(std::string_view target, std::string& path, std::string& query);

// RFC 9110 token (header names) and field-value (no CR, LF or NUL) checks.
bool is_token(std::string_view s);
bool is_field_value(std::string_view s);

}  // namespace kiln::http

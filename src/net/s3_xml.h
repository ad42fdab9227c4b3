// S3's wire details that need no connection: SigV4 URI encoding, the XML documents S3 answers
// with, its dates, and how an error answer becomes an Error. Private to net/ (s3_client.cpp and
// its tests); callers use S3Client.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/s3_client.h"
#include "util/error.h"

namespace kiln::net::s3wire {

// AccessDenied / 403: the caller's credential or policy is wrong.
inline constexpr ErrorCode kPermissionCode = ErrorCode::kPermission;

// SigV4's encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex); '/' is kept
// too when `keep_slash` (an object key in a path).
std::string uri_encode(std::string_view text, bool keep_slash);

// "?a=1&b=" with the names sorted and names and values encoded: exactly the canonical query
// SigV4 signs. curl 7.88 signs the query as it finds it in the URL (no sorting, no "=" added to
// a bare name), so the URL must already be canonical or AWS computes another signature.
std::string query_string(std::vector<std::pair<std::string, std::string>> params);

// The Error for a non-2xx answer (or a 2xx whose body is an <Error> document, as
// CompleteMultipartUpload may send): "<Code>: <Message>" from the body, else "HTTP <status>".
Error error_from_answer(long status, std::string_view body);
// True when `body` is an S3 <Error> document.
bool is_error_document(std::string_view body);

struct ListPage {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
  std::string next_token;
};
// A ListObjectsV2 answer (ListBucketResult).
Result<ListPage> parse_list_page(std::string_view xml);
// The UploadId of an InitiateMultipartUploadResult.
Result<std::string> parse_upload_id(std::string_view xml);
// The ETag of a CompleteMultipartUploadResult (without quotes).
Result<std::string> parse_complete_etag(std::string_view xml);
// The CompleteMultipartUpload request body; `etags` as UploadPart returned them, part 1 first.
std::string complete_multipart_body(const std::vector<std::string>& etags);

// "Wed, 12 Oct 2009 17:50:00 GMT" (Last-Modified) to epoch seconds; 0 when malformed.
double parse_http_date(std::string_view text);
// "2009-10-12T17:50:30.000Z" (a listing's LastModified) to epoch seconds; 0 when malformed.
double parse_iso8601(std::string_view text);
// An ETag without its surrounding quotes.
std::string unquote(std::string_view etag);

}  // namespace kiln::net::s3wire

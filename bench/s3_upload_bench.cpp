// Uploads one file with kiln's S3 client (the path S3 artifacts take) and prints the time.
// Driven by bench/s3_upload.py, which compares it with `aws s3 cp` of the same file to the same
// endpoint in the same run.
//   s3_upload_bench ENDPOINT BUCKET KEY FILE
// Credentials and region come from the environment (AWS_ACCESS_KEY_ID, ...).
#include <chrono>
#include <cstdio>

#include "net/http_client.h"
#include "net/s3_client.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s ENDPOINT BUCKET KEY FILE\n", argv[0]);
    return 2;
  }
  auto config = kiln::net::s3_config_from_env();
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().describe().c_str());
    return 1;
  }
  config->endpoint = argv[1];
  auto http = kiln::net::make_curl_client();
  kiln::net::S3Client client(*http, *config);
  const auto start = std::chrono::steady_clock::now();
  auto put = client.put_file({argv[2], argv[3]}, argv[4]);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!put) {
    std::fprintf(stderr, "%s\n", put.error().describe().c_str());
    return 1;
  }
  std::printf("%.4f %llu %d\n", secs, static_cast<unsigned long long>(put->bytes), put->parts);
  return 0;
}

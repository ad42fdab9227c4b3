#include "secrets/masking_sink.h"

#include <utility>

namespace kiln::secrets {

bool MaskingSink::add_secret(std::string value) {
  return masker_.add(std::move(value));
}

void MaskingSink::agent_line(std::string_view line) {
  end_output();
  inner_.agent_line(masker_.mask(line));
}

void MaskingSink::output(std::string_view chunk) {
  buf_.clear();
  masker_.feed(chunk, buf_);
  // An empty result means everything was held back: the inner sink has nothing to write.
  if (!buf_.empty()) inner_.output(buf_);
}

void MaskingSink::flush() {
  inner_.flush();
}

void MaskingSink::end_output() {
  const std::string rest = masker_.finish();
  if (!rest.empty()) inner_.output(rest);
}

}  // namespace kiln::secrets

#pragma once

// A small HTTP GET client over libcurl for the GitHub API (docs/github.md). Bounded by design:
// connect and total timeouts, a body-size cap, no redirects followed (the caller decides), only
// https unless plain http is allowed, and no proxy or .netrc use.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fixmine::github {

// One HTTP response.
struct HttpResponse {
  long status = 0;
  // Header names in lower case; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;
};

// Limits of every request.
struct HttpOptions {
  // Largest body accepted; a longer one fails the request with RESOURCE_EXHAUSTED.
  int64_t max_body_bytes = int64_t{32} << 20;
  int connect_timeout_seconds = 10;
  // Whole request, body included.
  int timeout_seconds = 60;
  // Accept http:// URLs (loopback test servers); https only otherwise.
  bool allow_http = false;
};

// Sends GET requests. Thread-compatible: one client per thread.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // GETs `url` with `headers` ("Name: value" lines). Errors: INVALID_ARGUMENT for a URL whose
  // scheme is not allowed, DEADLINE_EXCEEDED for a timeout, RESOURCE_EXHAUSTED for a body over
  // the cap, CANCELLED when `cancel` became true, UNAVAILABLE for connection failures. Any HTTP
  // status (3xx, 4xx, 5xx included) is a response, not an error. Error messages never contain
  // the request headers.
  virtual absl::StatusOr<HttpResponse> Get(const std::string& url,
                                           const std::vector<std::string>& headers,
                                           const std::atomic<bool>* cancel) = 0;
};

// The libcurl client.
std::unique_ptr<HttpClient> NewCurlClient(const HttpOptions& options);

// The scheme, host and port of `url` ("https://api.github.com:443" style, lower case, the
// default port made explicit); empty for a URL that does not parse.
std::string UrlOrigin(const std::string& url);

}  // namespace fixmine::github

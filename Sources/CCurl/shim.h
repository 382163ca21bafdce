#include <curl/curl.h>

/* Typed wrappers: Swift cannot call the variadic curl_easy_setopt/getinfo (added for FaceGateActions mail). */
typedef size_t (*fg_curl_io_callback)(char *buffer, size_t size, size_t nitems, void *userdata);
static inline CURLcode fg_curl_setopt_long(CURL *c, CURLoption o, long v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode fg_curl_setopt_string(CURL *c, CURLoption o, const char *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode fg_curl_setopt_pointer(CURL *c, CURLoption o, void *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode fg_curl_setopt_slist(CURL *c, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode fg_curl_setopt_callback(CURL *c, CURLoption o, fg_curl_io_callback f) { return curl_easy_setopt(c, o, f); }
static inline CURLcode fg_curl_getinfo_long(CURL *c, CURLINFO i, long *v) { return curl_easy_getinfo(c, i, v); }

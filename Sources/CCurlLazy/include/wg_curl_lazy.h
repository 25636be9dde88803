#ifndef WG_CURL_LAZY_H
#define WG_CURL_LAZY_H
// No declarations: this target only defines libcurl's entry points (see wg_curl_lazy.c).
#endif

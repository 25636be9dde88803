// libcurl, opened when the agent first talks HTTPS rather than at every start.
//
// Linked with -lcurl, every wgagent command (a no-op apply, status) loaded libcurl and its dependency chain
// (OpenSSL, GnuTLS via librtmp, Kerberos, LDAP, p11-kit, ...: ~4.5 MiB of resident pages, ~30 libraries).
// These definitions of the few libcurl functions the agent calls stand in for the real ones: the first call
// dlopen()s libcurl.so.4 and the rest go straight to it. The Swift code (WGHTTPClient) is unchanged.
// Without libcurl on the machine, commands that need no hub still run; HTTPS ones say what is missing.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static void *lib;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static CURLcode (*p_global_init)(long);
static CURL *(*p_easy_init)(void);
static void (*p_easy_cleanup)(CURL *);
static void (*p_easy_reset)(CURL *);
static CURLcode (*p_easy_perform)(CURL *);
static const char *(*p_easy_strerror)(CURLcode);
static CURLcode (*p_easy_setopt)(CURL *, CURLoption, ...);
static CURLcode (*p_easy_getinfo)(CURL *, CURLINFO, ...);
static struct curl_slist *(*p_slist_append)(struct curl_slist *, const char *);
static void (*p_slist_free_all)(struct curl_slist *);

static void open_libcurl(void) {
    lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "wgagent: cannot load libcurl (%s): install libcurl4 (Debian) or libcurl (Alpine)\n", dlerror());
        return;
    }
#define LOAD(p, name) *(void **)(&p) = dlsym(lib, name)
    LOAD(p_global_init, "curl_global_init");
    LOAD(p_easy_init, "curl_easy_init");
    LOAD(p_easy_cleanup, "curl_easy_cleanup");
    LOAD(p_easy_reset, "curl_easy_reset");
    LOAD(p_easy_perform, "curl_easy_perform");
    LOAD(p_easy_strerror, "curl_easy_strerror");
    LOAD(p_easy_setopt, "curl_easy_setopt");
    LOAD(p_easy_getinfo, "curl_easy_getinfo");
    LOAD(p_slist_append, "curl_slist_append");
    LOAD(p_slist_free_all, "curl_slist_free_all");
#undef LOAD
    if (!p_global_init || !p_easy_init || !p_easy_cleanup || !p_easy_reset || !p_easy_perform || !p_easy_strerror
        || !p_easy_setopt || !p_easy_getinfo || !p_slist_append || !p_slist_free_all) {
        fprintf(stderr, "wgagent: libcurl.so.4 lacks a function the agent needs (libcurl older than 7.62?)\n");
        dlclose(lib);
        lib = NULL;
    }
}

static int ready(void) {
    pthread_once(&once, open_libcurl);
    return lib != NULL;
}

CURLcode curl_global_init(long flags) { return ready() ? p_global_init(flags) : CURLE_FAILED_INIT; }
CURL *curl_easy_init(void) { return ready() ? p_easy_init() : NULL; }
void curl_easy_cleanup(CURL *h) { if (ready()) p_easy_cleanup(h); }
void curl_easy_reset(CURL *h) { if (ready()) p_easy_reset(h); }
CURLcode curl_easy_perform(CURL *h) { return ready() ? p_easy_perform(h) : CURLE_FAILED_INIT; }
const char *curl_easy_strerror(CURLcode c) { return ready() ? p_easy_strerror(c) : "libcurl could not be loaded"; }
struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s) { return ready() ? p_slist_append(l, s) : NULL; }
void curl_slist_free_all(struct curl_slist *l) { if (ready()) p_slist_free_all(l); }

// The variadic two take one argument whose type the option's number range gives (as libcurl itself reads it).
CURLcode curl_easy_setopt(CURL *h, CURLoption option, ...) {
    if (!ready()) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT) {
        long v = va_arg(ap, long);
        rc = p_easy_setopt(h, option, v);
    } else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB) {
        curl_off_t v = va_arg(ap, curl_off_t);
        rc = p_easy_setopt(h, option, v);
    } else {  // object pointers, function pointers, blobs
        void *v = va_arg(ap, void *);
        rc = p_easy_setopt(h, option, v);
    }
    va_end(ap);
    return rc;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...) {
    if (!ready()) return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    void *v = va_arg(ap, void *);
    va_end(ap);
    return p_easy_getinfo(h, info, v);
}

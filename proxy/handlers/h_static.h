/* h_static: answering a request from files (root / alias / index), as nginx's
 * static and index modules do: GET and HEAD only, Content-Type from the file
 * extension, Last-Modified and If-Modified-Since (exact match, 304), ETag,
 * a single byte Range (206, or 416 when unsatisfiable), a directory without
 * its trailing slash redirected (301), the body sent with sendfile through
 * the connection's output (libevent's file segments). */
#ifndef PROXY_STATIC_H
#define PROXY_STATIC_H

/* Registers the content handler "static" (init): answers from the files of
 * the location's root/alias/index. */
int h_static_init(void);

#endif

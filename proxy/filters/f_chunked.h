/* f_chunked: chunked transfer coding of response bodies whose length is not
 * known when the head goes out (HTTP/1.1 clients only; HTTP/1.0 ones get a
 * body the closing connection ends, which the session decides).
 *
 * Header filter: sets request.chunked_out.  Body filter: each piece goes on
 * as its chunk-size line, the piece itself, CRLF (nothing is held or
 * copied).  End: the last chunk "0\r\n\r\n". */
#ifndef PROXY_F_CHUNKED_H
#define PROXY_F_CHUNKED_H

/* Joins the filter chain (init; its place in the order is the caller's). */
int f_chunked_init(void);

#endif

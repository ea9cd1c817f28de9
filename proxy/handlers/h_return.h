/* h_return: the `return` directive's content handler: a status with a text
 * body (text/plain), a redirect with its Location and nginx's small page,
 * an error code's page, or 444 (close without answering, logged as 444).
 * The request body is read and dropped first, as nginx's. */
#ifndef PROXY_H_RETURN_H
#define PROXY_H_RETURN_H

/* Registers the handler "return" (init, before the config is read). */
int h_return_init(void);

#endif

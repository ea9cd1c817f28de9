/* conf_mime: the MIME map (see conf_mime.h). */
#include "conf_mime.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* nginx's mime.types, sorted by extension (strcmp) for bsearch. */
static struct cf_mime builtin[] = {
    {"3gp", "video/3gpp"},
    {"3gpp", "video/3gpp"},
    {"7z", "application/x-7z-compressed"},
    {"ai", "application/postscript"},
    {"asf", "video/x-ms-asf"},
    {"asx", "video/x-ms-asf"},
    {"atom", "application/atom+xml"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/x-ms-bmp"},
    {"cco", "application/x-cocoa"},
    {"crt", "application/x-x509-ca-cert"},
    {"css", "text/css"},
    {"deb", "application/octet-stream"},
    {"der", "application/x-x509-ca-cert"},
    {"dll", "application/octet-stream"},
    {"dmg", "application/octet-stream"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"ear", "application/java-archive"},
    {"eot", "application/vnd.ms-fontobject"},
    {"eps", "application/postscript"},
    {"exe", "application/octet-stream"},
    {"flv", "video/x-flv"},
    {"gif", "image/gif"},
    {"hqx", "application/mac-binhex40"},
    {"htc", "text/x-component"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/x-icon"},
    {"img", "application/octet-stream"},
    {"iso", "application/octet-stream"},
    {"jad", "text/vnd.sun.j2me.app-descriptor"},
    {"jar", "application/java-archive"},
    {"jardiff", "application/x-java-archive-diff"},
    {"jng", "image/x-jng"},
    {"jnlp", "application/x-java-jnlp-file"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "application/javascript"},
    {"json", "application/json"},
    {"kar", "audio/midi"},
    {"kml", "application/vnd.google-earth.kml+xml"},
    {"kmz", "application/vnd.google-earth.kmz"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4a", "audio/x-m4a"},
    {"m4v", "video/x-m4v"},
    {"mid", "audio/midi"},
    {"midi", "audio/midi"},
    {"mml", "text/mathml"},
    {"mng", "video/x-mng"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"msi", "application/octet-stream"},
    {"msm", "application/octet-stream"},
    {"msp", "application/octet-stream"},
    {"odg", "application/vnd.oasis.opendocument.graphics"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ogg", "audio/ogg"},
    {"pdb", "application/x-pilot"},
    {"pdf", "application/pdf"},
    {"pem", "application/x-x509-ca-cert"},
    {"pl", "application/x-perl"},
    {"pm", "application/x-perl"},
    {"png", "image/png"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"prc", "application/x-pilot"},
    {"ps", "application/postscript"},
    {"ra", "audio/x-realaudio"},
    {"rar", "application/x-rar-compressed"},
    {"rpm", "application/x-redhat-package-manager"},
    {"rss", "application/rss+xml"},
    {"rtf", "application/rtf"},
    {"run", "application/x-makeself"},
    {"sea", "application/x-sea"},
    {"shtml", "text/html"},
    {"sit", "application/x-stuffit"},
    {"svg", "image/svg+xml"},
    {"svgz", "image/svg+xml"},
    {"swf", "application/x-shockwave-flash"},
    {"tcl", "application/x-tcl"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"tk", "application/x-tcl"},
    {"ts", "video/mp2t"},
    {"txt", "text/plain"},
    {"war", "application/java-archive"},
    {"wasm", "application/wasm"},
    {"wbmp", "image/vnd.wap.wbmp"},
    {"webm", "video/webm"},
    {"webp", "image/webp"},
    {"wml", "text/vnd.wap.wml"},
    {"wmlc", "application/vnd.wap.wmlc"},
    {"wmv", "video/x-ms-wmv"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "text/xml"},
    {"xpi", "application/x-xpinstall"},
    {"xspf", "application/xspf+xml"},
    {"zip", "application/zip"},
};

static const struct cf_types builtin_types = {builtin, sizeof(builtin) / sizeof(builtin[0])};

int conf_mime_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cf_mime *)a)->ext, ((const struct cf_mime *)b)->ext);
}

const struct cf_types *conf_mime_builtin(void)
{
    return &builtin_types;
}

/* The extension as nginx finds it (ngx_http_set_exten): after the last dot
 * of the last path segment, unless that dot starts the segment (".profile"
 * has none).  NULL when there is none. */
static const char *extension(const char *path)
{
    for (const char *p = path + strlen(path); p > path; p--) {
        if (p[-1] == '/')
            return NULL;
        if (p[-1] == '.')
            return p - 1 > path && p[-2] != '/' ? p : NULL;
    }
    return NULL;
}

/* The type of path's extension in t, else default_type. */
static const char *lookup(const struct cf_types *t, const struct cf_loc *loc, const char *path)
{
    const char *ext = extension(path);
    if (ext && *ext && t->n) {
        char low[32];
        size_t n = strlen(ext);
        if (n < sizeof(low)) {
            for (size_t i = 0; i <= n; i++)
                low[i] = (char)tolower((unsigned char)ext[i]);
            struct cf_mime key = {low, NULL};
            const struct cf_mime *m =
                bsearch(&key, t->m, (size_t)t->n, sizeof(*t->m), conf_mime_cmp);
            if (m)
                return m->type;
        }
    }
    return loc->default_type ? loc->default_type : "text/plain";
}

const char *conf_mime_type(const struct cf_loc *loc, const char *path)
{
    return lookup(loc->types ? loc->types : &builtin_types, loc, path);
}

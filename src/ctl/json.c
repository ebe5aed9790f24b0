/*
 * A tiny JSON writer (RFC 8259) for --json output: enough for objects,
 * arrays, strings and integers, with strings escaped so that a user name
 * or an error message can never break the document.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>

#include "ctl.h"

/* The length of the UTF-8 sequence at s (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF), or 0 when it is not one. */
static size_t utf8_length(const unsigned char *s)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	/* A NUL ends the string and is no continuation byte, so this never
	 * reads past it. */
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

bool ctl_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	for (; *p != '\0'; p += len)
		if ((len = utf8_length(p)) == 0)
			return false;
	return true;
}

static void put_escaped(FILE *out, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t len;

	putc('"', out);
	for (; *s != '\0'; s += len) {
		len = 1;
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (*s == '\t')
			fputs("\\t", out);
		else if (*s < 0x20 || *s == 0x7f)
			fprintf(out, "\\u%04x", *s);
		else if ((len = utf8_length(s)) != 0)
			fwrite(s, 1, len, out);
		else
			fputs("\\ufffd", out);
		if (len == 0) /* one bad byte replaced */
			len = 1;
	}
	putc('"', out);
}

/* The separator and the key before a value. */
static void begin_value(struct json *json, const char *key)
{
	if (json->comma)
		putc(',', json->out);
	if (key != NULL) {
		put_escaped(json->out, key);
		putc(':', json->out);
	}
	json->comma = true;
}

void json_init(struct json *json, FILE *out)
{
	json->out = out;
	json->comma = false;
}

void json_object_begin(struct json *json, const char *key)
{
	begin_value(json, key);
	putc('{', json->out);
	json->comma = false;
}

void json_object_end(struct json *json)
{
	putc('}', json->out);
	json->comma = true;
}

void json_array_begin(struct json *json, const char *key)
{
	begin_value(json, key);
	putc('[', json->out);
	json->comma = false;
}

void json_array_end(struct json *json)
{
	putc(']', json->out);
	json->comma = true;
}

void json_string(struct json *json, const char *key, const char *value)
{
	begin_value(json, key);
	put_escaped(json->out, value);
}

void json_uint(struct json *json, const char *key, uint64_t value)
{
	begin_value(json, key);
	fprintf(json->out, "%" PRIu64, value);
}

void json_int(struct json *json, const char *key, int64_t value)
{
	begin_value(json, key);
	fprintf(json->out, "%" PRId64, value);
}

void json_bool(struct json *json, const char *key, bool value)
{
	begin_value(json, key);
	fputs(value ? "true" : "false", json->out);
}

void json_null(struct json *json, const char *key)
{
	begin_value(json, key);
	fputs("null", json->out);
}

void json_finish(struct json *json)
{
	putc('\n', json->out);
	json->comma = false;
}

#include "json.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = 1;
}

static void json_key(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = 0;
	if (key)
		fprintf(j->f, "\"%s\":", key);
}

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void json_obj_begin(struct json *j, const char *key)
{
	json_key(j, key);
	fputc('{', j->f);
	j->first[++j->depth] = 1;
}

void json_obj_end(struct json *j)
{
	fputc('}', j->f);
	j->depth--;
}

void json_arr_begin(struct json *j, const char *key)
{
	json_key(j, key);
	fputc('[', j->f);
	j->first[++j->depth] = 1;
}

void json_arr_end(struct json *j)
{
	fputc(']', j->f);
	j->depth--;
}

void json_str(struct json *j, const char *key, const char *val)
{
	json_key(j, key);
	json_escape(j->f, val);
}

void json_u64(struct json *j, const char *key, uint64_t val)
{
	json_key(j, key);
	fprintf(j->f, "%llu", (unsigned long long)val);
}

void json_i64(struct json *j, const char *key, int64_t val)
{
	json_key(j, key);
	fprintf(j->f, "%lld", (long long)val);
}

void json_bool(struct json *j, const char *key, int val)
{
	json_key(j, key);
	fputs(val ? "true" : "false", j->f);
}

void json_done(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

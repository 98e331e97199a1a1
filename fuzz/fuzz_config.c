/* libFuzzer harness: the config parser (every section kind) on arbitrary
 * text. A parse either succeeds or names file:line; it never crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct conf_err e;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_load_string(&c, "fuzz.conf", text, &e) == 0)
		config_free(&c);
	else if (strncmp(e.msg, "fuzz.conf:", 10) != 0)
		abort(); /* every error names the file and line */
	free(text);
	return 0;
}

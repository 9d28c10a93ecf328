/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Where a value is in a JSON text. jansson reports positions only for syntax
 * errors; a value it returns carries none. To point at the value a semantic
 * error is about, the text is scanned again, following a path of member
 * names and array indexes (a JSON pointer: /peers/1/allowedIPs/3) to the
 * value, and its line and column are counted.
 *
 * Positions are as jansson gives them: lines and columns from 1, a column
 * counting characters (UTF-8 sequences), not bytes; a tab is one column.
 */
#ifndef ALTUNTUN_JSON_POSITION_H
#define ALTUNTUN_JSON_POSITION_H

#include <stdbool.h>
#include <stddef.h>

/* One step of a path: a member name, or (key NULL) an array index. */
struct json_path_elem {
	const char *key;
	size_t index;
};

struct json_position {
	unsigned line;
	unsigned column;
};

/*
 * Finds the value at `path` (depth elements; 0: the whole document) in
 * `text`, which must be JSON that jansson accepted (with duplicate keys
 * rejected, so a member name is found once). With `at_key`, the last element
 * must be a member name and the position is that of the name rather than of
 * its value. Returns true and fills *pos, or false when the path is not
 * there (or the text is not JSON).
 */
bool json_position_find(const char *text, size_t len, const struct json_path_elem *path,
			size_t depth, bool at_key, struct json_position *pos);

#endif

/*
 * upl_pos: comparing positions, and whether the position file (see
 * replica/position.h) can be believed against what the replica shows.
 */
#include "upl.h"

int
upl_pos_cmp(uint32_t ai, uint64_t ao, uint32_t bi, uint64_t bo)
{
	if (ai != bi)
		return ai < bi ? -1 : 1;
	if (ao != bo)
		return ao < bo ? -1 : 1;
	return 0;
}

bool
upl_pos_file_usable(const struct position *file, const struct position *rep)
{
	return rep->gen[0] != '\0' && (!file->snapshot || rep->snapshot);
}

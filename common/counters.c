#include "counters.h"

const char *const ctr_names[CTR_COUNT] = {
#define CTR_NAME(n) #n,
	CTR_LIST(CTR_NAME)
#undef CTR_NAME
};

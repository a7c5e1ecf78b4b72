/* compactor: the retention and validation process (see cmp.h). */
#ifndef WALSHIP_COMPACTOR_H
#define WALSHIP_COMPACTOR_H

/* walship __role compactor -config PATH [-no-expand-env] -run DIR */
int compactor_main(int argc, char **argv);

#endif

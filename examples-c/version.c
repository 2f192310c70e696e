/*
 * version.c: the smallest libktix program. Prints the library version and checks that
 * result codes have names.
 *
 *   cc -Wall -Wextra -Werror -I include examples-c/version.c -L target/debug -lktix -o version
 */
#include <stdio.h>
#include <string.h>

#include "ktix.h"

int main(void) {
    const char *version = ktix_version();
    if (version == NULL || version[0] == '\0') {
        fprintf(stderr, "ktix_version() returned nothing\n");
        return 1;
    }
    printf("libktix %s\n", version);

    if (strcmp(ktix_result_name(KTIX_OK), "KTIX_OK") != 0 ||
        strcmp(ktix_result_name(37), "KRB_AP_ERR_SKEW") != 0 ||
        strcmp(ktix_result_name(-12345), "KTIX_ERR_UNKNOWN") != 0) {
        fprintf(stderr, "unexpected result names\n");
        return 1;
    }
    printf("result 37 is %s\n", ktix_result_name(37));
    return 0;
}

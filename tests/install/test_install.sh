#!/usr/bin/env bash
# Installs Ember into a temporary prefix and builds a C program against it with
# pkg-config alone, as another project would, then runs it on the shipped model.
set -euo pipefail
build=$1
src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name ember.pc -printf '%h\n' | head -n1)
cat > "$prefix/prog.c" <<'C'
#include <ember.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    ember_model *m;
    ember_session *s;
    static float x[1 * 1 * 49 * 10];
    ember_tensor in = {EMBER_DT_FLOAT, 4, {1, 1, 49, 10}, x, sizeof x}, out;
    (void)argc;
    if (ember_model_load(argv[1], &m) != EMBER_OK || ember_session_create(m, NULL, &s) != EMBER_OK ||
        ember_session_run(s, &in, 1, &out, 1) != EMBER_OK) {
        fprintf(stderr, "%s\n", ember_last_error());
        return 1;
    }
    printf("output rank %d, %lld classes\n", out.rank, (long long)out.dims[out.rank - 1]);
    ember_tensor_release(&out);
    ember_session_free(s);
    ember_model_free(m);
    return 0;
}
C
export PKG_CONFIG_PATH="$pc"
# The .pc file names the configured prefix; the temporary install lives elsewhere.
pkgc() { pkg-config --define-variable=prefix="$prefix" "$@"; }
cc -Wall -Wextra -Werror -o "$prefix/prog" "$prefix/prog.c" $(pkgc --cflags ember) \
   "$(pkgc --variable=libdir ember)/libember.a" $(pkgc --libs --static ember | sed "s/-lember//")
"$prefix/prog" "$src/models/kws_dscnn/model.onnx"
# and the shared library
cc -Wall -Wextra -Werror -o "$prefix/prog_so" "$prefix/prog.c" $(pkgc --cflags --libs ember) \
   -Wl,-rpath,"$(pkgc --variable=libdir ember)"
"$prefix/prog_so" "$src/models/kws_dscnn/model.onnx"

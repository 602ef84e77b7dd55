# Writes OUTPUT, a C++ source defining `const char* const NAME` with the text of INPUT
# (used to embed the report's chart library and scripts into the binary, so reports are offline).
# NAMESPACE (default actlab::report::assets) holds the definition.
if(NOT DEFINED NAMESPACE)
  set(NAMESPACE actlab::report::assets)
endif()
file(READ "${INPUT}" content)
string(FIND "${content}" ")actlab_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter used to embed it")
endif()
# GCC accepts long literals, but split into pieces below 64 KiB to stay within every compiler's limit.
string(LENGTH "${content}" length)
set(pieces "")
set(offset 0)
while(offset LESS length)
  string(SUBSTRING "${content}" ${offset} 60000 piece)
  string(APPEND pieces "R\"actlab_embed(${piece})actlab_embed\"\n")
  math(EXPR offset "${offset} + 60000")
endwhile()
file(WRITE "${OUTPUT}" "// Generated from ${INPUT}; do not edit.\nnamespace ${NAMESPACE} {\nextern const char* const ${NAME};\nconst char* const ${NAME} =\n${pieces};\n}\n")

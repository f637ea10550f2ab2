# The network examples (included from examples/CMakeLists.txt):
#   echo_server  TCP echo, a goroutine per connection
#   http_hello   HTTP/1.1 "Hello, World!" with keep-alive and pipelining
foreach(example echo_server http_hello)
  add_executable(${example} ${CMAKE_CURRENT_LIST_DIR}/${example}.c)
  target_link_libraries(${example} PRIVATE goroutine_static)
  target_compile_definitions(${example} PRIVATE _GNU_SOURCE)
endforeach()
# The request scanner, on its own so that fuzz/fuzz_http.c links it too.
target_sources(http_hello PRIVATE ${CMAKE_CURRENT_LIST_DIR}/http_parse.c)

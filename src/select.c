/* select.c - being written (see the select section of include/goroutine.h). */

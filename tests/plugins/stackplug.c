/*
 * stackplug.c - a plugin that tests/test_stack.c dlopens: a capture taken
 * inside a module loaded after the symboliser first read the module map.
 * Built with -g -fPIC -shared; it links nothing of pooltag, the test hands it
 * the capture function.
 */
#include <stdint.h>

typedef uint32_t (*stackplug_capture_fn)(unsigned skip);

uint32_t stackplug_capture(stackplug_capture_fn capture);
extern int stackplug_line;

/* The line of the capture call in stackplug_capture(). */
int stackplug_line;

/* Captures the stack through capture(0); the innermost frame kept is this
 * function, at stackplug_line. */
__attribute__((noinline)) uint32_t stackplug_capture(stackplug_capture_fn capture)
{
	uint32_t id;

	stackplug_line = __LINE__ + 1;
	id = capture(0);
	__asm__ volatile(""); /* no tail call: this frame must stay on the stack */
	return id;
}

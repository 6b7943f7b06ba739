// cxxleak.cc - a C++ program that leaks objects made with new, each holding
// a std::string and a std::vector (tests/e2e/reach.bats): the leak must be
// blamed on the program's line, not on the standard library's headers.
// Knows nothing of pooltag.
//
// usage: cxxleak    prints "pid N"; leaks 3 Records, keeps 1 in a global
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

struct Record {
	std::string name;
	std::vector<long> values;
};

Record *kept; // external: the store to it cannot be left out

__attribute__((noinline)) static Record *make_record(const char *name, int n)
{
	Record *r = new Record; // NEW line
	r->name = std::string(name) + " with a name too long for the small-string buffer";
	for (int i = 0; i < n; i++)
		r->values.push_back(i);
	return r;
}

int main()
{
	std::printf("pid %d\n", (int)getpid());
	for (int i = 0; i < 3; i++) {
		Record *r = make_record("leaked", 10); // LEAK line
		std::printf("record %zu\n", r->values.size());
	}
	kept = make_record("kept", 4); // KEPT line
	return 0;
}

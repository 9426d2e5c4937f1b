// ctk: the front end. Everything lives in the ctk_frontend library so that
// tests can drive it; see tools/app.h.
#include "app.h"

int main(int argc, char **argv) {
  return ctk::tools::App().main(argc, argv);
}

#ifndef TURNOUT_COPENSSL_SHIM_H
#define TURNOUT_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#endif

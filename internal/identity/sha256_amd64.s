#include "textflag.h"

// SHA-256 block function with the x86 SHA extensions (Intel SHA-NI), after
// the data flow of Intel's "Intel SHA Extensions" white paper: the state is
// kept as ABEF/CDGH, SHA256RNDS2 does two rounds, SHA256MSG1/MSG2 (plus one
// PALIGNR/PADDD) extend the message schedule four words at a time.
//
// Registers: X0 message+K (implicit SHA256RNDS2 operand), X1 ABEF, X2 CDGH,
// X3–X6 message words, X7 temporary, X8 byte-swap mask, X9/X10 saved state,
// X11 round constants.

// ROUNDS does four rounds with message words M and round constants at
// offset K in the table at AX.
#define ROUNDS(M, K) \
	MOVO        M, X0; \
	MOVOU       K(AX), X11; \
	PADDD       X11, X0; \
	SHA256RNDS2 X0, X1, X2; \
	PSHUFD      $0x0E, X0, X0; \
	SHA256RNDS2 X0, X2, X1

// ROUNDS_NEXT is ROUNDS that also completes NEXT = W[i+4..i+7] from
// NEXT (after MSG1), PREV = W[i-4..i-1] and M = W[i..i+3].
#define ROUNDS_NEXT(M, PREV, NEXT, K) \
	MOVO        M, X0; \
	MOVOU       K(AX), X11; \
	PADDD       X11, X0; \
	SHA256RNDS2 X0, X1, X2; \
	MOVO        M, X7; \
	PALIGNR     $4, PREV, X7; \
	PADDD       X7, NEXT; \
	SHA256MSG2  M, NEXT; \
	PSHUFD      $0x0E, X0, X0; \
	SHA256RNDS2 X0, X2, X1

#define LOAD(off, M) \
	MOVOU  off(SI), M; \
	PSHUFB X8, M

// func blocksSHANI(h *[8]uint32, p *byte, nblocks int)
TEXT ·blocksSHANI(SB), NOSPLIT, $0-24
	MOVQ h+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ nblocks+16(FP), DX
	SHLQ $6, DX
	ADDQ SI, DX
	LEAQ sha256K<>(SB), AX
	MOVOU sha256Flip<>(SB), X8

	MOVOU   (DI), X1          // DCBA
	MOVOU   16(DI), X2        // HGFE
	PSHUFD  $0xB1, X1, X1     // CDAB
	PSHUFD  $0x1B, X2, X2     // EFGH
	MOVO    X1, X7
	PALIGNR $8, X2, X1        // ABEF
	PBLENDW $0xF0, X7, X2     // CDGH

loop:
	MOVO X1, X9
	MOVO X2, X10

	LOAD(0, X3)
	ROUNDS(X3, 0)
	LOAD(16, X4)
	ROUNDS(X4, 16)
	SHA256MSG1 X4, X3
	LOAD(32, X5)
	ROUNDS(X5, 32)
	SHA256MSG1 X5, X4
	LOAD(48, X6)
	ROUNDS_NEXT(X6, X5, X3, 48)
	SHA256MSG1 X6, X5

	ROUNDS_NEXT(X3, X6, X4, 64)
	SHA256MSG1 X3, X6
	ROUNDS_NEXT(X4, X3, X5, 80)
	SHA256MSG1 X4, X3
	ROUNDS_NEXT(X5, X4, X6, 96)
	SHA256MSG1 X5, X4
	ROUNDS_NEXT(X6, X5, X3, 112)
	SHA256MSG1 X6, X5

	ROUNDS_NEXT(X3, X6, X4, 128)
	SHA256MSG1 X3, X6
	ROUNDS_NEXT(X4, X3, X5, 144)
	SHA256MSG1 X4, X3
	ROUNDS_NEXT(X5, X4, X6, 160)
	SHA256MSG1 X5, X4
	ROUNDS_NEXT(X6, X5, X3, 176)
	SHA256MSG1 X6, X5

	ROUNDS_NEXT(X3, X6, X4, 192)
	SHA256MSG1 X3, X6
	ROUNDS_NEXT(X4, X3, X5, 208)
	ROUNDS_NEXT(X5, X4, X6, 224)
	ROUNDS(X6, 240)

	PADDD X9, X1
	PADDD X10, X2
	ADDQ  $64, SI
	CMPQ  SI, DX
	JB    loop

	PSHUFD  $0x1B, X1, X1     // FEBA
	PSHUFD  $0xB1, X2, X2     // DCHG
	MOVO    X1, X7
	PBLENDW $0xF0, X2, X1     // DCBA
	PALIGNR $8, X7, X2        // HGFE
	MOVOU   X1, (DI)
	MOVOU   X2, 16(DI)
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// PSHUFB mask that turns four little-endian loads into big-endian words.
DATA sha256Flip<>+0(SB)/8, $0x0405060700010203
DATA sha256Flip<>+8(SB)/8, $0x0c0d0e0f08090a0b
GLOBL sha256Flip<>(SB), RODATA|NOPTR, $16

// The 64 SHA-256 round constants (FIPS 180-4 §4.2.2).
DATA sha256K<>+0x00(SB)/4, $0x428a2f98
DATA sha256K<>+0x04(SB)/4, $0x71374491
DATA sha256K<>+0x08(SB)/4, $0xb5c0fbcf
DATA sha256K<>+0x0c(SB)/4, $0xe9b5dba5
DATA sha256K<>+0x10(SB)/4, $0x3956c25b
DATA sha256K<>+0x14(SB)/4, $0x59f111f1
DATA sha256K<>+0x18(SB)/4, $0x923f82a4
DATA sha256K<>+0x1c(SB)/4, $0xab1c5ed5
DATA sha256K<>+0x20(SB)/4, $0xd807aa98
DATA sha256K<>+0x24(SB)/4, $0x12835b01
DATA sha256K<>+0x28(SB)/4, $0x243185be
DATA sha256K<>+0x2c(SB)/4, $0x550c7dc3
DATA sha256K<>+0x30(SB)/4, $0x72be5d74
DATA sha256K<>+0x34(SB)/4, $0x80deb1fe
DATA sha256K<>+0x38(SB)/4, $0x9bdc06a7
DATA sha256K<>+0x3c(SB)/4, $0xc19bf174
DATA sha256K<>+0x40(SB)/4, $0xe49b69c1
DATA sha256K<>+0x44(SB)/4, $0xefbe4786
DATA sha256K<>+0x48(SB)/4, $0x0fc19dc6
DATA sha256K<>+0x4c(SB)/4, $0x240ca1cc
DATA sha256K<>+0x50(SB)/4, $0x2de92c6f
DATA sha256K<>+0x54(SB)/4, $0x4a7484aa
DATA sha256K<>+0x58(SB)/4, $0x5cb0a9dc
DATA sha256K<>+0x5c(SB)/4, $0x76f988da
DATA sha256K<>+0x60(SB)/4, $0x983e5152
DATA sha256K<>+0x64(SB)/4, $0xa831c66d
DATA sha256K<>+0x68(SB)/4, $0xb00327c8
DATA sha256K<>+0x6c(SB)/4, $0xbf597fc7
DATA sha256K<>+0x70(SB)/4, $0xc6e00bf3
DATA sha256K<>+0x74(SB)/4, $0xd5a79147
DATA sha256K<>+0x78(SB)/4, $0x06ca6351
DATA sha256K<>+0x7c(SB)/4, $0x14292967
DATA sha256K<>+0x80(SB)/4, $0x27b70a85
DATA sha256K<>+0x84(SB)/4, $0x2e1b2138
DATA sha256K<>+0x88(SB)/4, $0x4d2c6dfc
DATA sha256K<>+0x8c(SB)/4, $0x53380d13
DATA sha256K<>+0x90(SB)/4, $0x650a7354
DATA sha256K<>+0x94(SB)/4, $0x766a0abb
DATA sha256K<>+0x98(SB)/4, $0x81c2c92e
DATA sha256K<>+0x9c(SB)/4, $0x92722c85
DATA sha256K<>+0xa0(SB)/4, $0xa2bfe8a1
DATA sha256K<>+0xa4(SB)/4, $0xa81a664b
DATA sha256K<>+0xa8(SB)/4, $0xc24b8b70
DATA sha256K<>+0xac(SB)/4, $0xc76c51a3
DATA sha256K<>+0xb0(SB)/4, $0xd192e819
DATA sha256K<>+0xb4(SB)/4, $0xd6990624
DATA sha256K<>+0xb8(SB)/4, $0xf40e3585
DATA sha256K<>+0xbc(SB)/4, $0x106aa070
DATA sha256K<>+0xc0(SB)/4, $0x19a4c116
DATA sha256K<>+0xc4(SB)/4, $0x1e376c08
DATA sha256K<>+0xc8(SB)/4, $0x2748774c
DATA sha256K<>+0xcc(SB)/4, $0x34b0bcb5
DATA sha256K<>+0xd0(SB)/4, $0x391c0cb3
DATA sha256K<>+0xd4(SB)/4, $0x4ed8aa4a
DATA sha256K<>+0xd8(SB)/4, $0x5b9cca4f
DATA sha256K<>+0xdc(SB)/4, $0x682e6ff3
DATA sha256K<>+0xe0(SB)/4, $0x748f82ee
DATA sha256K<>+0xe4(SB)/4, $0x78a5636f
DATA sha256K<>+0xe8(SB)/4, $0x84c87814
DATA sha256K<>+0xec(SB)/4, $0x8cc70208
DATA sha256K<>+0xf0(SB)/4, $0x90befffa
DATA sha256K<>+0xf4(SB)/4, $0xa4506ceb
DATA sha256K<>+0xf8(SB)/4, $0xbef9a3f7
DATA sha256K<>+0xfc(SB)/4, $0xc67178f2
GLOBL sha256K<>(SB), RODATA|NOPTR, $256

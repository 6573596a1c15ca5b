;; Base64 decoder used by base64.ts to decode the engine's embedded module (about 1 MB of text).
;; base64.ts embeds the bytes of `wasm-as --enable-bulk-memory --enable-simd
;; base64-decoder.wat` as a number array (no decoding needed); base64.test.ts checks that the
;; two agree.
;;
;; Memory (imported from JS, sized by the caller): 0..4095 holds four 256-entry i32 tables
;; T0..T3 built by `i`, 4096..4159 the alphabet (data segment); the caller places the text
;; (and the output, which may overlay it) anywhere above.
;;
;; T0[c0] | T1[c1] | T2[c2] | T3[c3] is the three bytes of a quad as a little-endian i32 (the
;; byte order is folded into the tables), with bit 31 set if any character is outside the
;; alphabet (every entry is pre-filled with 0x80808080).
;;
;; The main loop is SIMD, 16 characters at a time (the vector-lookup method of W. Muła and
;; D. Lemire, "Faster Base64 Encoding and Decoding Using AVX2 Instructions", 2018): nibble
;; lookups flag characters outside the alphabet and give each character's offset to its 6-bit
;; value, shifts and i32x4.dot_i16x8_s pack four values into 24 bits, a swizzle puts the 12
;; bytes in order. The scalar tables handle the last 15 or fewer: two quads per i64 load, a
;; last full quad, then 2 or 3 characters. The output needs 4 bytes of slack (16-byte stores
;; of 12 bytes). Decoding in place (dst = src) is safe: every store reaches only bytes
;; already read.
(module
  (import "e" "m" (memory 1))
  (data (i32.const 4096) "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
  ;; i(): build the tables.
  (func (export "i")
    (local $i i32) (local $w i32)
    (memory.fill (i32.const 0) (i32.const 128) (i32.const 4096))
    (loop $t
      (local.set $w (i32.shl (i32.load8_u offset=4096 (local.get $i)) (i32.const 2)))
      (i32.store (local.get $w) (i32.shl (local.get $i) (i32.const 2)))
      (i32.store offset=1024 (local.get $w)
        (i32.or (i32.shr_u (local.get $i) (i32.const 4)) (i32.shl (i32.and (local.get $i) (i32.const 15)) (i32.const 12))))
      (i32.store offset=2048 (local.get $w)
        (i32.or (i32.shl (i32.shr_u (local.get $i) (i32.const 2)) (i32.const 8)) (i32.shl (i32.and (local.get $i) (i32.const 3)) (i32.const 22))))
      (i32.store offset=3072 (local.get $w) (i32.shl (local.get $i) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $t (i32.lt_u (local.get $i) (i32.const 64)))))
  ;; d(src, n, dst): decode the n characters at src (no padding, n % 4 != 1) to dst; returns the
  ;; OR of the table words: negative means a character outside the alphabet.
  (func (export "d") (param $i i32) (param $n i32) (param $o i32) (result i32)
    (local $e i32) (local $w i32) (local $v i32) (local $u i32) (local $s i32) (local $r i32) (local $x i64)
    (local $in v128) (local $hi v128) (local $bad v128) (local $t v128)
    (local.set $e (i32.add (local.get $i) (i32.and (local.get $n) (i32.const -16))))
    (block $vdone
      (br_if $vdone (i32.ge_u (local.get $i) (local.get $e)))
      (loop $vec
        (local.set $in (v128.load (local.get $i)))
        (local.set $hi (i8x16.shr_u (local.get $in) (i32.const 4)))
        ;; invalid iff LUT_LO[low nibble] & LUT_HI[high nibble] != 0
        (local.set $bad
          (v128.or (local.get $bad)
            (v128.and
              (i8x16.swizzle
                (v128.const i8x16 0x15 0x11 0x11 0x11 0x11 0x11 0x11 0x11 0x11 0x11 0x13 0x1a 0x1b 0x1b 0x1b 0x1a)
                (v128.and (local.get $in) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)))
              (i8x16.swizzle
                (v128.const i8x16 0x10 0x10 0x01 0x02 0x04 0x08 0x04 0x08 0x10 0x10 0x10 0x10 0x10 0x10 0x10 0x10)
                (local.get $hi)))))
        ;; 6-bit values: add ROLL[high nibble, minus 1 for '/']
        (local.set $t
          (i8x16.add (local.get $in)
            (i8x16.swizzle
              (v128.const i8x16 0 16 19 4 -65 -65 -71 -71 0 0 0 0 0 0 0 0)
              (i8x16.add (local.get $hi)
                (i8x16.eq (local.get $in) (v128.const i8x16 47 47 47 47 47 47 47 47 47 47 47 47 47 47 47 47))))))
        ;; pairs a, b -> a << 6 | b (i16), then pairs -> ab << 12 | cd (i32)
        (local.set $t
          (i32x4.dot_i16x8_s
            (v128.or
              (v128.and (i16x8.shl (local.get $t) (i32.const 6)) (v128.const i16x8 0x0fc0 0x0fc0 0x0fc0 0x0fc0 0x0fc0 0x0fc0 0x0fc0 0x0fc0))
              (i16x8.shr_u (local.get $t) (i32.const 8)))
            (v128.const i16x8 0x1000 1 0x1000 1 0x1000 1 0x1000 1)))
        (v128.store (local.get $o)
          (i8x16.swizzle (local.get $t) (v128.const i8x16 2 1 0 6 5 4 10 9 8 14 13 12 -1 -1 -1 -1)))
        (local.set $o (i32.add (local.get $o) (i32.const 12)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $vec (i32.lt_u (local.get $i) (local.get $e)))))
    (if (v128.any_true (local.get $bad)) (then (local.set $s (i32.const -1))))
    (local.set $n (i32.and (local.get $n) (i32.const 15)))
    (local.set $r (i32.and (local.get $n) (i32.const 3)))
    (local.set $e (i32.add (local.get $i) (i32.and (local.get $n) (i32.const -8))))
    (block $done
      (br_if $done (i32.ge_u (local.get $i) (local.get $e)))
      (loop $oct
        (local.set $x (i64.load (local.get $i)))
        (local.set $w (i32.wrap_i64 (local.get $x)))
        (local.set $v (i32.or
            (i32.or
              (i32.load (i32.and (i32.shl (local.get $w) (i32.const 2)) (i32.const 1020)))
              (i32.load offset=1024 (i32.and (i32.shr_u (local.get $w) (i32.const 6)) (i32.const 1020))))
            (i32.or
              (i32.load offset=2048 (i32.and (i32.shr_u (local.get $w) (i32.const 14)) (i32.const 1020)))
              (i32.load offset=3072 (i32.and (i32.shr_u (local.get $w) (i32.const 22)) (i32.const 1020))))))
        (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 32))))
        (local.set $u (i32.or
            (i32.or
              (i32.load (i32.and (i32.shl (local.get $w) (i32.const 2)) (i32.const 1020)))
              (i32.load offset=1024 (i32.and (i32.shr_u (local.get $w) (i32.const 6)) (i32.const 1020))))
            (i32.or
              (i32.load offset=2048 (i32.and (i32.shr_u (local.get $w) (i32.const 14)) (i32.const 1020)))
              (i32.load offset=3072 (i32.and (i32.shr_u (local.get $w) (i32.const 22)) (i32.const 1020))))))
        (local.set $s (i32.or (local.get $s) (i32.or (local.get $v) (local.get $u))))
        (i32.store (local.get $o) (local.get $v))
        (i32.store offset=3 (local.get $o) (local.get $u))
        (local.set $o (i32.add (local.get $o) (i32.const 6)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br_if $oct (i32.lt_u (local.get $i) (local.get $e)))))
    (if (i32.and (local.get $n) (i32.const 4))
      (then
        (local.set $w (i32.load (local.get $i)))
        (local.set $v (i32.or
            (i32.or
              (i32.load (i32.and (i32.shl (local.get $w) (i32.const 2)) (i32.const 1020)))
              (i32.load offset=1024 (i32.and (i32.shr_u (local.get $w) (i32.const 6)) (i32.const 1020))))
            (i32.or
              (i32.load offset=2048 (i32.and (i32.shr_u (local.get $w) (i32.const 14)) (i32.const 1020)))
              (i32.load offset=3072 (i32.and (i32.shr_u (local.get $w) (i32.const 22)) (i32.const 1020))))))
        (local.set $s (i32.or (local.get $s) (local.get $v)))
        (i32.store (local.get $o) (local.get $v))
        (local.set $o (i32.add (local.get $o) (i32.const 3)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))))
    (if (i32.ge_u (local.get $r) (i32.const 2))
      (then
        (local.set $v
          (i32.or
            (i32.or
              (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))
              (i32.load offset=1024 (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 2))))
            (select
              (i32.load offset=2048 (i32.shl (i32.load8_u offset=2 (local.get $i)) (i32.const 2)))
              (i32.const 0)
              (i32.eq (local.get $r) (i32.const 3)))))
        (local.set $s (i32.or (local.get $s) (local.get $v)))
        (i32.store8 (local.get $o) (local.get $v))
        (if (i32.eq (local.get $r) (i32.const 3))
          (then (i32.store8 offset=1 (local.get $o) (i32.shr_u (local.get $v) (i32.const 8)))))))
    (local.get $s)))

{
  "targets": [
    {
      "target_name": "hoard_native",
      "sources": ["native/addon.c", "native/chunker.c", "native/poly1305.c", "native/sha256.c", "native/times.c", "native/malloc.c"],
      "cflags": ["-O3"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "hoard_native",
      "sources": ["native/chunker.c"],
      "cflags": ["-O3"]
    }
  ]
}

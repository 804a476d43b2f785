;; Example custom rule (docs/rules.md, "WASM rules"): match a *pending* transaction that moves at
;; least 1 ether and has a finding of severity high or critical. It reads only the fixed header
;; of the event record; the JSON that follows is there for rules that need more.
(module
  (memory (export "memory") 1)

  ;; The record always goes at offset 0; grow the memory when it does not fit (the host refuses
  ;; a pointer past the memory, so a refused grow is reported, not silently truncated).
  (func (export "alloc") (param $len i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (local.get $len) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))))
    (i32.const 0))

  (func (export "match") (param $ptr i32) (param $len i32) (result i32)
    (i32.and
      (i32.and
        (i32.eqz (i32.load (local.get $ptr)))                          ;; stage == pending
        (i32.ge_u (i32.load offset=4 (local.get $ptr)) (i32.const 4)))  ;; severity >= high
      (i64.ge_u (i64.load offset=16 (local.get $ptr))                  ;; value >= 1 ether
                (i64.const 1000000000000000000))))
)

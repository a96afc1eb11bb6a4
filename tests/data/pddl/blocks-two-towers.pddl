; Written for learnact-langgraph's tests (not benchmark data).
; Two towers of two blocks while the arm holds b5; the goal is one tower of all five.
(define (problem own-blocks-two-towers)
  (:domain blockworld)
  (:objects b1 b2 b3 b4 b5)
  (:init (holding b5)
         (on-table b1) (on b2 b1) (clear b2)
         (on-table b3) (on b4 b3) (clear b4))
  (:goal (and (on b1 b5) (on b5 b4) (on b4 b2) (on b2 b3))))

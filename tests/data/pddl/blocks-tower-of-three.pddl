; Written for learnact-langgraph's tests (not benchmark data).
; One tower b2 on b3 on b1; the goal turns it upside down.
(define (problem own-blocks-tower-of-three)
  (:domain blockworld)
  (:objects b1 b2 b3)
  (:init (arm-empty) (on-table b1) (on b3 b1) (on b2 b3) (clear b2))
  (:goal (and (on b1 b3) (on b3 b2))))

; Written for learnact-langgraph's tests (not benchmark data).
; Two blocks side by side; one must end up on the other.
(define (problem own-blocks-two)
  (:domain blockworld)
  (:objects left-block right-block)
  (:init (arm-empty) (on-table left-block) (on-table right-block)
         (clear left-block) (clear right-block))
  (:goal (and (on right-block left-block))))

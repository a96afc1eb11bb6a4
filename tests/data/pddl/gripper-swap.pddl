; Written for learnact-langgraph's tests (not benchmark data).
; Two balls on each side; every ball must change rooms. Robby starts in roomb.
(define (problem own-gripper-swap)
  (:domain gripper)
  (:objects rooma roomb red green blue white left right)
  (:init
    (room rooma) (room roomb)
    (gripper left) (gripper right) (free left) (free right)
    (ball red) (ball green) (ball blue) (ball white)
    (at-robby roomb)
    (at red rooma) (at green rooma) (at blue roomb) (at white roomb))
  (:goal (and (at red roomb) (at green roomb) (at blue rooma) (at white rooma))))

; Written for learnact-langgraph's tests (not benchmark data).
; Four balls wait in rooma with Robby; all of them belong in roomb.
(define (problem own-gripper-four-balls)
  (:domain gripper)
  (:objects rooma roomb ball1 ball2 ball3 ball4 left right)
  (:init
    (room rooma) (room roomb)
    (gripper left) (gripper right) (free left) (free right)
    (ball ball1) (ball ball2) (ball ball3) (ball ball4)
    (at-robby rooma)
    (at ball1 rooma) (at ball2 rooma) (at ball3 rooma) (at ball4 rooma))
  (:goal (and (at ball1 roomb) (at ball2 roomb) (at ball3 roomb) (at ball4 roomb))))

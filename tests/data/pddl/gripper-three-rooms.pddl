; Written for learnact-langgraph's tests (not benchmark data).
; Three rooms, three errands; the left gripper already holds ball1.
(define (problem own-gripper-three-rooms)
  (:domain gripper)
  (:objects hall kitchen cellar ball1 ball2 ball3 left right)
  (:init
    (room hall) (room kitchen) (room cellar)
    (gripper left) (gripper right) (free right)
    (ball ball1) (ball ball2) (ball ball3)
    (at-robby kitchen)
    (carry ball1 left) (at ball2 hall) (at ball3 cellar))
  (:goal (and (at ball1 cellar) (at ball2 kitchen) (at ball3 hall))))

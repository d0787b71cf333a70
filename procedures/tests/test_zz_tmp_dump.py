from procedures.tests.test_admin import *  # noqa
from procedures.tests.test_admin import _post_action

def test_dump(client, world):
    registrable = ended(world, world.application(Kind.IDENTIFICATION, State.TOWNSHIP_NOTICE))
    world.sign_all(registrable, leave_out=(Signatory.TOWNSHIP_HEAD,))
    exiting = world.application(Kind.EXIT, State.TOWNSHIP_REVIEWED)
    c = logged_in(client, world.user("county"))
    open("/tmp/change.html","w").write(c.get(change_url(registrable)).content.decode())
    open("/tmp/change_exit.html","w").write(c.get(change_url(exiting)).content.decode())
    open("/tmp/confirm.html","w").write(_post_action(c, "bulk_approve", [registrable, exiting]).content.decode())
    open("/tmp/result.html","w").write(_post_action(c, "bulk_approve", [registrable, exiting], confirm="1").content.decode())

from backroom.cli import app

app(prog_name="backroom")

process.stdout.write('quint: not yet\n');

/**
 * Column names for profiles compared side by side. Labels of runs that differ
 * in one setting share most of their words ("mobilenetv2 on local (onnxruntime,
 * intra_op_threads=1)" and "...=2)"): as column headers they made the matched
 * layers' table too wide for a notebook, and its speed-up column fell off the
 * right edge. The headers keep what tells the labels apart; the full label is
 * in the header's title and in the latency table.
 */

/** Where a label's words break: after a space or an opening bracket or before a closing one. */
function cutBefore(text: string, at: number): number {
  let cut = at;
  while (cut > 0 && !/[\s([{,]/.test(text[cut - 1])) {
    cut--;
  }
  return cut;
}

/**
 * Each label without the words all labels start and end with; a label left empty keeps
 * its whole text, and labels that would come out alike all keep theirs.
 */
export function distinctLabels(labels: string[]): string[] {
  if (labels.length < 2) {
    return [...labels];
  }
  const shortest = Math.min(...labels.map(l => l.length));
  let head = 0;
  while (head < shortest && labels.every(l => l[head] === labels[0][head])) {
    head++;
  }
  head = cutBefore(labels[0], head);
  let tail = 0;
  while (
    tail < shortest - head &&
    labels.every(l => l[l.length - 1 - tail] === labels[0][labels[0].length - 1 - tail])
  ) {
    tail++;
  }
  // keep a closing bracket's word whole: "threads=1)" loses only the bracket
  const last = labels[0];
  while (tail > 0 && /[\w.=]/.test(last[last.length - tail])) {
    tail--;
  }
  const short = labels.map(label => {
    const middle = label.slice(head, label.length - tail).replace(/^[\s,]+|[\s,]+$/g, '');
    return middle || label;
  });
  // two headers alike would hide which column is which: then the whole labels
  return new Set(short).size === short.length ? short : [...labels];
}

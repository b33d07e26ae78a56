# --- distilbert.transformer.layer.0
def forward(self, x, mask_bias):
    B = x.size(0)
    T = x.size(1)
    S = x.size(1)
    A = self.num_heads * self.head_dim
    q = torch.linear(x, self.attention.q_lin.weight, self.attention.q_lin.bias)
    k = torch.linear(x, self.attention.k_lin.weight, self.attention.k_lin.bias)
    v = torch.linear(x, self.attention.v_lin.weight, self.attention.v_lin.bias)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = torch.linear(ctx, self.attention.out_lin.weight, self.attention.out_lin.bias)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = torch.layer_norm(a + x, [self.sa_layer_norm.weight.size(0)], self.sa_layer_norm.weight, self.sa_layer_norm.bias, self.eps)
    h = torch.gelu(torch.linear(x, self.ffn.lin1.weight, self.ffn.lin1.bias))
    h = torch.linear(h, self.ffn.lin2.weight, self.ffn.lin2.bias)
    h = torch.dropout(h, self.dropout_p, self.training)
    return torch.layer_norm(h + x, [self.output_layer_norm.weight.size(0)], self.output_layer_norm.weight, self.output_layer_norm.bias, self.eps)

# --- distilbert.transformer.layer.1
def forward(self, x, mask_bias):
    B = x.size(0)
    T = x.size(1)
    S = x.size(1)
    A = self.num_heads * self.head_dim
    q = torch.linear(x, self.attention.q_lin.weight, self.attention.q_lin.bias)
    k = torch.linear(x, self.attention.k_lin.weight, self.attention.k_lin.bias)
    v = torch.linear(x, self.attention.v_lin.weight, self.attention.v_lin.bias)
    q = q.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
    k = k.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    v = v.view(B, S, self.num_heads, self.head_dim).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / self.scale + mask_bias
    probs = torch.dropout(torch.softmax(scores, -1), self.dropout_p, self.training)
    ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, A)
    a = torch.linear(ctx, self.attention.out_lin.weight, self.attention.out_lin.bias)
    a = torch.dropout(a, self.dropout_p, self.training)
    x = torch.layer_norm(a + x, [self.sa_layer_norm.weight.size(0)], self.sa_layer_norm.weight, self.sa_layer_norm.bias, self.eps)
    h = torch.gelu(torch.linear(x, self.ffn.lin1.weight, self.ffn.lin1.bias))
    h = torch.linear(h, self.ffn.lin2.weight, self.ffn.lin2.bias)
    h = torch.dropout(h, self.dropout_p, self.training)
    return torch.layer_norm(h + x, [self.output_layer_norm.weight.size(0)], self.output_layer_norm.weight, self.output_layer_norm.bias, self.eps)

# --- root
def forward(self, input_ids, attention_mask):
    positions = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    x = torch.embedding(self.distilbert.embeddings.word_embeddings.weight, input_ids)
    x = x + torch.embedding(self.distilbert.embeddings.position_embeddings.weight, positions)
    x = torch.layer_norm(x, [self.distilbert.embeddings.LayerNorm.weight.size(0)], self.distilbert.embeddings.LayerNorm.weight, self.distilbert.embeddings.LayerNorm.bias, self.eps)
    x = torch.dropout(x, self.dropout_p, self.training)
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    x = getattr(self.distilbert.transformer.layer, '0').forward(x, mask_bias)
    x = getattr(self.distilbert.transformer.layer, '1').forward(x, mask_bias)
    first = x.select(1, 0)
    h = torch.relu(torch.linear(first, self.pre_classifier.weight, self.pre_classifier.bias))
    logits = torch.linear(torch.dropout(h, self.dropout_p, self.training), self.classifier.weight, self.classifier.bias)
    return (logits,)

# --- root
def forward_hidden(self, input_ids, attention_mask) -> Tuple[Tensor, List[Tensor]]:
    positions = torch.cumsum(torch.ones_like(input_ids), 1) - 1
    x = torch.embedding(self.distilbert.embeddings.word_embeddings.weight, input_ids)
    x = x + torch.embedding(self.distilbert.embeddings.position_embeddings.weight, positions)
    x = torch.layer_norm(x, [self.distilbert.embeddings.LayerNorm.weight.size(0)], self.distilbert.embeddings.LayerNorm.weight, self.distilbert.embeddings.LayerNorm.bias, self.eps)
    x = torch.dropout(x, self.dropout_p, self.training)
    mask_bias = (1.0 - attention_mask.to(x.dtype)).unsqueeze(1).unsqueeze(2) * -3.4028234663852886e+38
    hidden = [x]
    x = getattr(self.distilbert.transformer.layer, '0').forward(x, mask_bias)
    hidden.append(x)
    x = getattr(self.distilbert.transformer.layer, '1').forward(x, mask_bias)
    hidden.append(x)
    first = x.select(1, 0)
    h = torch.relu(torch.linear(first, self.pre_classifier.weight, self.pre_classifier.bias))
    logits = torch.linear(torch.dropout(h, self.dropout_p, self.training), self.classifier.weight, self.classifier.bias)
    return logits, hidden

